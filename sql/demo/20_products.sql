-- Demo loader, step 2: :products products SKU-00001.. with list prices (USD,
-- EUR), stock, and the product-level brackets and contracts. Set-based and
-- deterministic: product n gets its category from n, its variant from the
-- running number inside that category, its price from arithmetic on n.

-- One template per leaf category; product n uses template (n - 1) % 26.
CREATE TEMP TABLE demo_template (
    idx int PRIMARY KEY, category text, grp text, tax_class text, unit text,
    pmin int, pmax int,            -- USD list price range, minor units
    fmt text, k1 text, a1 text[], k2 text, a2 text[], k3 text, a3 text[],
    extra jsonb, blurb text
) ON COMMIT DROP;
INSERT INTO demo_template VALUES
 (0, 'bolts-screws', 'FASTENERS', 'standard', 'box', 250, 4500, '%s %s, %s, box of 100',
  'type', '{"Hex Bolt","Carriage Bolt","Socket Head Cap Screw","Machine Screw","Wood Screw","Self-Tapping Screw","Lag Screw","Flange Bolt"}',
  'size', '{"M4 x 16 mm","M5 x 20 mm","M6 x 25 mm","M6 x 40 mm","M8 x 30 mm","M8 x 50 mm","M10 x 60 mm","M12 x 80 mm"}',
  'material', '{"Zinc-Plated Steel","Stainless A2","Stainless A4","Black Oxide","Hot-Dip Galvanized"}',
  '{"pack_qty": 100, "standard": "ISO 4017"}', 'Metric fastener for general assembly and construction.'),
 (1, 'nuts-washers', 'FASTENERS', 'standard', 'box', 150, 2500, '%s %s, %s, box of 200',
  'type', '{"Hex Nut","Nyloc Nut","Flange Nut","Wing Nut","Flat Washer","Spring Washer","Fender Washer","Cap Nut"}',
  'size', '{M4,M5,M6,M8,M10,M12,M16}',
  'material', '{"Zinc-Plated Steel","Stainless A2","Stainless A4","Brass","Nylon"}',
  '{"pack_qty": 200}', 'Nut or washer to DIN/ISO dimensions.'),
 (2, 'anchors-rivets', 'FASTENERS', 'standard', 'box', 300, 6000, '%s %s, %s, box of 50',
  'type', '{"Wedge Anchor","Sleeve Anchor","Drop-In Anchor","Nylon Wall Plug","Blind Rivet","Toggle Bolt","Hammer-Drive Anchor"}',
  'size', '{"6 mm","8 mm","10 mm","12 mm","3.2 mm","4.8 mm"}',
  'material', '{"Zinc-Plated Steel","Stainless A4",Aluminium,Nylon}',
  '{"pack_qty": 50}', 'Anchor or rivet for concrete, masonry, drywall or sheet metal.'),
 (3, 'cables-wire', 'CABLE', 'standard', 'roll', 1500, 45000, '%s, %s, %s',
  'type', '{"Cat6 U/UTP Cable 23 AWG","Cat6A S/FTP Cable 23 AWG","H07RN-F Rubber Cable 3G1.5 mm²","H07RN-F Rubber Cable 3G2.5 mm²","NYM-J Installation Cable 3x1.5 mm²","NYM-J Installation Cable 5x2.5 mm²","Coaxial Cable RG6","Speaker Cable 2x2.5 mm²","Fire-Resistant Cable FE180 2x1.5 mm²"}',
  'colour', '{Grey,Black,Blue,White,Orange,Red}',
  'length', '{"25 m","50 m","100 m","305 m","500 m"}',
  '{}', 'Cable on roll or drum, cut lengths on request.'),
 (4, 'connectors', 'ELECTRICAL', 'standard', 'pk', 200, 5000, '%s, %s, pack of %s',
  'type', '{"Lever Connector 2-way","Lever Connector 5-way","Crimp Ring Terminal M5","Crimp Spade Terminal 6.3 mm","Butt Splice Connector","RJ45 Modular Plug Cat6","Heat-Shrink Butt Connector","DIN Rail Terminal Block 2.5 mm²"}',
  'colour', '{Red,Blue,Yellow,Grey,Transparent}',
  'pack_qty', '{10,25,50,100}',
  '{}', 'Connector or terminal for low-voltage installation work.'),
 (5, 'lighting', 'LIGHTING', 'standard', 'ea', 800, 35000, '%s, %s, %s',
  'type', '{"LED Panel 600x600 36 W","LED Tube T8 1200 mm 18 W","LED Floodlight 50 W IP65","LED High Bay 150 W","Emergency Exit Light","LED Batten 1500 mm 40 W","LED Work Light 20 W Rechargeable"}',
  'colour_temperature', '{"3000 K","4000 K","5000 K","6500 K"}',
  'control', '{Standard,Dimmable,DALI,"Motion Sensor"}',
  '{"warranty_years": 5}', 'Energy-efficient LED luminaire for commercial spaces.'),
 (6, 'gloves', 'PPE', 'standard', 'pk', 300, 3500, '%s, size %s, %s',
  'type', '{"Nitrile Disposable Gloves","Cut-Resistant Gloves Level C","Leather Rigger Gloves","Thermal Work Gloves","Chemical-Resistant Gloves","Anti-Vibration Gloves","Latex-Free Exam Gloves"}',
  'size', '{S,M,L,XL,XXL}',
  'pack', '{"box of 100","pack of 12 pairs","single pair"}',
  '{"standard": "EN 388"}', 'Hand protection for industrial work.'),
 (7, 'eye-face', 'PPE', 'standard', 'ea', 300, 6000, '%s, %s, %s',
  'type', '{"Safety Glasses Clear Lens","Safety Glasses Tinted Lens","Over-Glasses Spectacles","Goggles Indirect Vent","Face Shield with Brow Guard","Welding Helmet Auto-Darkening"}',
  'coating', '{Anti-Fog,Anti-Scratch,"Anti-Fog/Anti-Scratch"}',
  'standard', '{"EN 166","ANSI Z87.1"}',
  '{}', 'Eye and face protection.'),
 (8, 'hearing', 'PPE', 'standard', 'pk', 200, 4500, '%s %s, %s',
  'type', '{"Foam Ear Plugs","Corded Ear Plugs","Reusable Ear Plugs","Ear Muffs","Helmet-Mounted Ear Muffs","Banded Hearing Protector"}',
  'attenuation', '{"SNR 28 dB","SNR 32 dB","SNR 35 dB","SNR 37 dB"}',
  'pack', '{single,"pack of 10","box of 200"}',
  '{"standard": "EN 352"}', 'Hearing protection for noisy environments.'),
 (9, 'hi-vis', 'PPE', 'standard', 'ea', 500, 9000, '%s, %s, size %s',
  'type', '{"Hi-Vis Vest","Hi-Vis Jacket","Hi-Vis Bomber Jacket","Hi-Vis Trousers","Hi-Vis Polo Shirt","Hi-Vis Parka"}',
  'colour', '{Yellow,Orange}',
  'size', '{S,M,L,XL,XXL,3XL}',
  '{"standard": "EN ISO 20471 Class 2"}', 'High-visibility workwear.'),
 (10, 'first-aid', 'PPE', 'reduced', 'ea', 250, 12000, '%s (%s, %s)',
  'type', '{"First Aid Kit DIN 13157","First Aid Kit DIN 13169","Eye Wash Station","Burn Gel Dressing","Adhesive Plasters Assorted","Sterile Gauze Pads","Instant Cold Pack","Emergency Foil Blanket"}',
  'size', '{small,medium,large}',
  'variant', '{complete,refill}',
  '{"medical_device": true}', 'First aid supplies for the workplace.'),
 (11, 'writing', 'OFFICE', 'standard', 'pk', 100, 4000, '%s, %s, %s',
  'type', '{"Ballpoint Pen","Gel Pen","Permanent Marker","Whiteboard Marker",Highlighter,"Mechanical Pencil 0.5 mm",Fineliner}',
  'colour', '{Black,Blue,Red,Green,Assorted}',
  'pack', '{"pack of 10","box of 12","box of 50"}',
  '{}', 'Writing instruments for the office.'),
 (12, 'power-tools', 'POWER-TOOLS', 'standard', 'ea', 3500, 199900, '%s, %s, %s',
  'type', '{"Cordless Drill Driver 18 V","Cordless Impact Driver 18 V","Angle Grinder 125 mm","Circular Saw 190 mm","Jigsaw 650 W","Rotary Hammer SDS-plus","Random Orbit Sander 125 mm","Oscillating Multi-Tool"}',
  'kit', '{"bare tool","with 2x 2.0 Ah battery","with 2x 5.0 Ah battery"}',
  'case', '{"in carry case","in stackable case"}',
  '{"warranty_years": 3}', 'Professional power tool.'),
 (13, 'measuring', 'HAND-TOOLS', 'standard', 'ea', 500, 25000, '%s, %s',
  'type', '{"Tape Measure 5 m","Tape Measure 8 m","Spirit Level 600 mm","Spirit Level 1200 mm","Digital Caliper 150 mm","Laser Distance Meter 50 m","Cross-Line Laser","Steel Rule 1 m","Multimeter CAT III"}',
  'grade', '{Standard,Professional}',
  'note', '{""}',
  '{}', 'Measuring and testing equipment.'),
 (14, 'paper-labels', 'OFFICE', 'standard', 'pk', 200, 6000, '%s, %s, %s',
  'type', '{"Copy Paper A4 80 g/m²","Copy Paper Letter 20 lb","Laser Labels 70x36 mm","Shipping Labels 4x6 in","Sticky Notes 76x76 mm","Thermal Receipt Rolls 80 mm","Index Cards"}',
  'variant', '{White,Recycled,Coloured}',
  'pack', '{"pack of 100","ream of 500","box of 5 reams"}',
  '{}', 'Paper and labels.'),
 (15, 'hand-tools', 'HAND-TOOLS', 'standard', 'ea', 300, 15000, '%s, %s',
  'type', '{"Combination Wrench Set","Screwdriver Set","Torx Key Set","Claw Hammer 450 g","Locking Pliers 250 mm","Side Cutters 160 mm","Socket Set 1/2 in","Utility Knife","Hex Key Set","Adjustable Wrench 250 mm"}',
  'finish', '{"Chrome Vanadium","Insulated VDE 1000 V",Stainless}',
  'note', '{""}',
  '{}', 'Hand tool for maintenance and installation.'),
 (16, 'filing', 'OFFICE', 'standard', 'ea', 150, 8000, '%s %s, %s',
  'type', '{"Lever Arch File","Ring Binder","Suspension File","Archive Box","Document Wallet","Desk Organiser","Magazine File"}',
  'format', '{A4,Letter,Foolscap}',
  'colour', '{Black,Blue,Red,Grey}',
  '{}', 'Filing and storage.'),
 (17, 'cleaning-chemicals', 'CHEMICALS', 'standard', 'ea', 400, 9000, '%s %s, %s',
  'type', '{"All-Purpose Cleaner","Degreaser Concentrate","Glass Cleaner","Floor Cleaner","Disinfectant Spray","Hand Soap","Hand Sanitizer Gel","Washroom Descaler"}',
  'volume', '{"500 ml","1 l","5 l","10 l"}',
  'scent', '{Unscented,Lemon,Pine}',
  '{}', 'Cleaning chemical for facility maintenance.'),
 (18, 'janitorial-supplies', 'JANITORIAL', 'standard', 'case', 300, 12000, '%s, %s, %s',
  'type', '{"Heavy-Duty Bin Bags","Centrefeed Paper Roll","Toilet Tissue","Microfibre Cloths","Mop Head","Spill Kit","Scouring Sponges","Paper Hand Towels"}',
  'size', '{Small,Medium,Large}',
  'pack', '{"pack of 10","case of 6","case of 24"}',
  '{}', 'Janitorial consumables.'),
 (19, 'pipe-fittings', 'PLUMBING', 'standard', 'pk', 150, 5000, '%s %s, %s',
  'type', '{"Copper Elbow 90°","Copper Tee","Brass Compression Coupling","PVC Elbow 90°","PVC Tee","Press-Fit Coupling","Pipe Clip","Threaded Nipple"}',
  'size', '{"15 mm","22 mm","28 mm","1/2 in","3/4 in","1 in"}',
  'pack', '{"pack of 10",each,"box of 50"}',
  '{}', 'Pipe fitting.'),
 (20, 'valves', 'PLUMBING', 'standard', 'ea', 800, 45000, '%s %s, %s',
  'type', '{"Ball Valve Lever Handle","Gate Valve","Check Valve","Pressure Reducing Valve","Thermostatic Mixing Valve","Isolation Valve"}',
  'size', '{"15 mm","22 mm","1/2 in","3/4 in","1 in","2 in"}',
  'material', '{Brass,"Stainless Steel","DZR Brass"}',
  '{}', 'Valve for water and heating systems.'),
 (21, 'hazardous-materials', 'CHEMICALS', 'standard', 'ea', 800, 30000, '%s, %s',
  'type', '{"Acetone Solvent","Isopropyl Alcohol 99%","Compressed Air Duster","Propane Cylinder","Brake Cleaner Aerosol","Paint Thinner","Battery Electrolyte 37%","Lithium Battery Pack"}',
  'size', '{"500 ml","1 l","5 l","400 ml aerosol","425 g cylinder"}',
  'note', '{""}',
  '{"hazmat": true, "ships_as": "dangerous goods"}', 'Dangerous goods: restricted shipping, licence may be required.'),
 (22, 'tapes', 'PACKAGING', 'standard', 'roll', 150, 3500, '%s %s, %s',
  'type', '{"Packaging Tape","Duct Tape","Masking Tape","Double-Sided Tape","Floor Marking Tape","Electrical Insulation Tape","Aluminium Foil Tape"}',
  'size', '{"19 mm x 33 m","25 mm x 50 m","48 mm x 66 m","50 mm x 50 m"}',
  'colour', '{Clear,Brown,Black,Yellow/Black,Red}',
  '{}', 'Adhesive tape.'),
 (23, 'boxes-mailers', 'PACKAGING', 'standard', 'pk', 200, 9000, '%s, %s, %s',
  'type', '{"Single-Wall Carton","Double-Wall Carton","Padded Mailer","Postal Tube","Bubble Wrap Roll","Stretch Film","Void Fill Paper"}',
  'size', '{Small,Medium,Large,XL}',
  'pack', '{"pack of 10","pack of 25","pack of 100"}',
  '{}', 'Shipping supplies.'),
 (24, 'hvac-filters', NULL, 'standard', 'ea', 500, 18000, '%s %s, %s',
  'type', '{"Pleated Panel Filter","Bag Filter","Carbon Filter","HEPA Filter H13","Grease Filter","Pre-Filter Pad"}',
  'rating', '{"MERV 8","MERV 11","MERV 13","ePM1 55%","ePM10 60%"}',
  'size', '{"592x592 mm","592x287 mm","20x20x1 in","16x25x2 in"}',
  '{}', 'Air filter for ventilation systems.'),
 (25, 'adhesives-sealants', 'CHEMICALS', 'standard', 'ea', 300, 4500, '%s, %s, %s',
  'type', '{"Silicone Sealant","Polyurethane Adhesive","Instant Adhesive Gel","Epoxy Two-Part","Threadlocker Medium Strength","Construction Adhesive","Contact Adhesive"}',
  'colour', '{Clear,White,Grey,Black}',
  'size', '{"20 g","50 ml","290 ml cartridge","310 ml cartridge"}',
  '{}', 'Adhesive or sealant.');

CREATE TEMP TABLE demo_brand (i int PRIMARY KEY, name text) ON COMMIT DROP;
INSERT INTO demo_brand VALUES (0, 'Northforge'), (1, 'ProGuard'), (2, 'Kestrel'), (3, 'Ironclad'),
    (4, 'Bluestone'), (5, 'Summit'), (6, 'Brightline'), (7, 'Meridian');

-- Products ---------------------------------------------------------------------
-- n: SKU number; m: running number within its category (variant selector).
INSERT INTO products (sku, name, description, category_id, product_group_id, tax_class,
                      attributes, unit, allow_backorder)
SELECT format('SKU-%s', lpad(n::text, 5, '0')),
       b.name || ' ' || format(t.fmt, v1, v2, v3),
       t.blurb || ' Brand: ' || b.name || '.',
       c.id, g.id, t.tax_class,
       jsonb_strip_nulls(jsonb_build_object('brand', b.name, t.k1, v1, t.k2, nullif(v2, ''), t.k3, nullif(v3, ''))) || t.extra,
       t.unit,
       n % 34 = 0
  FROM generate_series(1, :products) AS n
  CROSS JOIN LATERAL (SELECT (n - 1) % 26 AS idx, (n - 1) / 26 AS m) AS k
  JOIN demo_template t ON t.idx = k.idx
  JOIN demo_brand b ON b.i = (n / 3) % 8
  JOIN categories c ON c.code = t.category
  LEFT JOIN product_groups g ON g.code = t.grp
  CROSS JOIN LATERAL (SELECT
       t.a1[1 + k.m % cardinality(t.a1)] AS v1,
       t.a2[1 + (k.m / cardinality(t.a1)) % cardinality(t.a2)] AS v2,
       t.a3[1 + (k.m / (cardinality(t.a1) * cardinality(t.a2))) % cardinality(t.a3)] AS v3) AS v
 ORDER BY n;

-- List prices: USD from the template range, EUR about 7 % below, both on
-- 5-cent steps; SKU-00042 is pinned (24.90 USD / 22.90 EUR).
CREATE TEMP TABLE demo_list ON COMMIT DROP AS
SELECT p.id AS product_id, n,
       CASE WHEN n = 42 THEN 2490
            ELSE greatest(50, (t.pmin + (n::bigint * 7919) % (t.pmax - t.pmin + 1)) / 5 * 5) END AS usd
  FROM products p
  CROSS JOIN LATERAL (SELECT substr(p.sku, 5)::int AS n) AS s
  JOIN demo_template t ON t.idx = (n - 1) % 26
 WHERE p.sku ~ '^SKU-[0-9]{5}$';
ALTER TABLE demo_list ADD COLUMN eur bigint;
UPDATE demo_list SET eur = CASE WHEN n = 42 THEN 2290 ELSE greatest(50, (usd * 93 / 100) / 5 * 5) END;

INSERT INTO price_rules (kind, product_id, currency, price_minor)
SELECT 'list', product_id, cur, CASE cur WHEN 'USD' THEN usd ELSE eur END
  FROM demo_list CROSS JOIN (VALUES ('USD'), ('EUR')) AS c (cur)
 ORDER BY product_id, cur DESC;

-- Stock: every SKU. SKU-00010 has exactly 10; every 17th SKU is out of stock
-- (every 34th of those allows backorder); every 13th is low (1..9).
INSERT INTO stock (product_id, on_hand, reserved, erp_as_of)
SELECT product_id,
       CASE WHEN n = 10 THEN 10
            WHEN n % 17 = 0 THEN 0
            WHEN n % 13 = 0 THEN 1 + n % 9
            ELSE 20 + (n * 37) % 981 END,
       0, now()
  FROM demo_list
 ORDER BY product_id;

-- Product brackets: SKU-00005 4 % from 10 and 7 % from 50; SKU-00007 fixed
-- price (85 % of list, then 80 %) from 50 and 100, in USD and EUR.
INSERT INTO price_rules (kind, product_id, min_qty, discount_bp, label)
SELECT 'bracket', l.product_id, v.min_qty, v.bp, v.label
  FROM (VALUES (5, 10, 400, 'SKU-00005: 4% from 10'), (5, 50, 700, 'SKU-00005: 7% from 50'))
       AS v (n, min_qty, bp, label)
  JOIN demo_list l ON l.n = v.n
 ORDER BY v.n, v.min_qty;
INSERT INTO price_rules (kind, product_id, min_qty, currency, price_minor, label)
SELECT 'bracket', l.product_id, v.min_qty, c.cur,
       (CASE c.cur WHEN 'USD' THEN l.usd ELSE l.eur END) * v.pct / 100 / 5 * 5,
       format('SKU-00007: %s%% of list from %s', v.pct, v.min_qty)
  FROM (VALUES (7, 50, 85), (7, 100, 80)) AS v (n, min_qty, pct)
  JOIN demo_list l ON l.n = v.n
  CROSS JOIN (VALUES ('USD'), ('EUR')) AS c (cur)
 ORDER BY v.n, v.min_qty, c.cur DESC;

-- Product contracts.
--   ACME-NA: SKU-00042 fixed 17.25 USD; a few more SKUs at 78 % of list;
--            SKU-00043 expired (2020), SKU-00044 starts in 2099.
--   ACME-EMEA: SKU-00060 fixed at 80 % of the EUR list.
--   GLOBEX: SKU-00042 fixed 20.00 USD (must never leak into Acme's prices).
INSERT INTO price_rules (kind, account_id, product_id, currency, price_minor, discount_bp,
                         valid_from, valid_to, label)
SELECT 'contract', a.id, l.product_id, v.currency,
       coalesce(v.price, CASE v.currency WHEN 'USD' THEN l.usd ELSE l.eur END * v.pct / 100 / 5 * 5),
       v.bp, v.valid_from::timestamptz, v.valid_to::timestamptz, v.label
  FROM (VALUES
    ('ACME-NA',   42,   'USD', 1725, NULL, NULL, NULL, NULL, 'Acme NA contract: SKU-00042 at 17.25 USD'),
    ('ACME-NA',   100,  'USD', NULL, 78,   NULL, NULL, NULL, 'Acme NA contract price'),
    ('ACME-NA',   101,  'USD', NULL, 78,   NULL, NULL, NULL, 'Acme NA contract price'),
    ('ACME-NA',   250,  'USD', NULL, 78,   NULL, NULL, NULL, 'Acme NA contract price'),
    ('ACME-NA',   500,  'USD', NULL, 78,   NULL, NULL, NULL, 'Acme NA contract price'),
    ('ACME-NA',   1000, 'USD', NULL, 78,   NULL, NULL, NULL, 'Acme NA contract price'),
    ('ACME-NA',   1500, 'USD', NULL, 78,   NULL, NULL, NULL, 'Acme NA contract price'),
    ('ACME-NA',   43,   'USD', 100,  NULL, NULL, '2020-01-01 00:00:00+00', '2021-01-01 00:00:00+00', 'Acme NA: expired 2020 contract'),
    ('ACME-NA',   44,   NULL,  NULL, NULL, 5000, '2099-01-01 00:00:00+00', NULL, 'Acme NA: future contract (2099)'),
    ('ACME-EMEA', 60,   'EUR', NULL, 80,   NULL, NULL, NULL, 'Acme EMEA contract price'),
    ('GLOBEX',    42,   'USD', 2000, NULL, NULL, NULL, NULL, 'Globex contract: SKU-00042 at 20.00 USD'))
       AS v (account, n, currency, price, pct, bp, valid_from, valid_to, label)
  JOIN accounts a ON a.code = v.account
  JOIN demo_list l ON l.n = v.n
 ORDER BY a.id, v.n;
