-- Demo loader, step 1: everything that does not scale with --products:
-- price lists, the demo account trees, users, categories, product groups,
-- tax, FX and promo rules, approval and catalog access rules.
-- Deterministic: no random(), no clock except created_at/updated_at defaults.

-- Currencies (seeded by 001_core; kept here so the demo also fits an older DB).
INSERT INTO currencies (code, minor_digits, name) VALUES
    ('USD', 2, 'US Dollar'), ('EUR', 2, 'Euro'), ('GBP', 2, 'Pound Sterling'),
    ('JPY', 0, 'Japanese Yen'), ('KWD', 3, 'Kuwaiti Dinar')
ON CONFLICT (code) DO NOTHING;

INSERT INTO price_lists (code, name) VALUES
    ('GOLD', 'Gold tier'),
    ('SILVER', 'Silver tier');

-- Accounts: one statement per tree level (a row's parent must exist first).
INSERT INTO accounts (code, name, currency, country, is_invoicing, credit_limit_minor) VALUES
    ('ACME',   'Acme Holdings', 'USD', 'US', true, 5000000),
    ('GLOBEX', 'Globex Corp',   'USD', 'US', true, 2500000);
UPDATE accounts SET price_list_id = (SELECT id FROM price_lists WHERE code = 'SILVER')
 WHERE code = 'GLOBEX';
INSERT INTO accounts (code, name, parent_id, currency, country, price_list_id)
SELECT v.code, v.name, p.id, v.currency, v.country, pl.id
  FROM (VALUES ('ACME-NA',   'Acme North America', 'ACME', 'USD', 'US', 'GOLD'),
               ('ACME-EMEA', 'Acme EMEA',          'ACME', 'EUR', 'DE', NULL))
       AS v (code, name, parent, currency, country, price_list)
  JOIN accounts p ON p.code = v.parent
  LEFT JOIN price_lists pl ON pl.code = v.price_list
 ORDER BY v.code DESC;  -- ACME-NA first: ids 3, 4
INSERT INTO accounts (code, name, parent_id, currency, country, region)
SELECT v.code, v.name, p.id, v.currency, v.country, v.region
  FROM (VALUES ('ACME-NA-WEST', 'Acme North America West', 'ACME-NA',   'USD', 'US', 'CA'),
               ('ACME-FR',      'Acme France',             'ACME-EMEA', 'EUR', 'FR', NULL))
       AS v (code, name, parent, currency, country, region)
  JOIN accounts p ON p.code = v.parent
 ORDER BY v.code DESC;

-- Users: password "demo" for all. One bcrypt hash (htpasswd -nbB -C 10),
-- pasted as a constant so every load is identical; APR-util verifies it.
INSERT INTO users (username, password_hash, display_name, email, account_id, global_role)
SELECT v.username, '$2y$10$9NDLtomTUHirRPIuhzh7IuBhkF1SjsWpt2/gmRGh6A8uInUHqtR5C',
       v.display_name, v.username || '@example.com', a.id, v.global_role
  FROM (VALUES (1, 'acme-admin',   'Alice Admin (Acme)',         'ACME',         NULL),
               (2, 'na-buyer',     'Nate Buyer (Acme NA)',       'ACME-NA',      NULL),
               (3, 'na-approver',  'Nora Approver (Acme NA)',    'ACME-NA',      NULL),
               (4, 'emea-buyer',   'Emma Buyer (Acme EMEA)',     'ACME-EMEA',    NULL),
               (5, 'globex-buyer', 'Gabe Buyer (Globex)',        'GLOBEX',       NULL),
               (6, 'portal-admin', 'Pat Operator (portal)',      NULL,           'portal_admin'),
               (7, 'erp',          'ERP integration',            NULL,           'integration'),
               (8, 'west-buyer',   'Wes Buyer (Acme NA West)',   'ACME-NA-WEST', NULL),
               (9, 'fr-buyer',     'Francine Buyer (Acme France)', 'ACME-FR',    NULL))
       AS v (ord, username, display_name, account, global_role)
  LEFT JOIN accounts a ON a.code = v.account
 ORDER BY v.ord;

INSERT INTO memberships (user_id, account_id, role)
SELECT u.id, a.id, v.role
  FROM (VALUES ('acme-admin',   'ACME',         'account_admin'),
               ('acme-admin',   'ACME',         'approver'),
               ('na-buyer',     'ACME-NA',      'buyer'),
               ('na-approver',  'ACME-NA',      'approver'),
               ('emea-buyer',   'ACME-EMEA',    'buyer'),
               ('globex-buyer', 'GLOBEX',       'buyer'),
               ('west-buyer',   'ACME-NA-WEST', 'buyer'),
               ('fr-buyer',     'ACME-FR',      'buyer'))
       AS v (username, account, role)
  JOIN users u ON u.username = v.username
  JOIN accounts a ON a.code = v.account
 ORDER BY u.id, a.id, v.role;

-- Catalog structure -------------------------------------------------------------

INSERT INTO categories (code, name, sort) VALUES
    ('fasteners',  'Fasteners',              10),
    ('electrical', 'Electrical',             20),
    ('safety',     'Safety & PPE',           30),
    ('tools',      'Tools',                  40),
    ('office',     'Office Supplies',        50),
    ('facility',   'Cleaning & Facility',    60),
    ('plumbing',   'Plumbing',               70),
    ('packaging',  'Packaging & Shipping',   80),
    ('chemicals',  'Chemicals & Adhesives',  90);
INSERT INTO categories (code, name, parent_id, sort)
SELECT v.code, v.name, p.id, v.sort
  FROM (VALUES
    ('bolts-screws',        'Bolts & Screws',            'fasteners',  1),
    ('nuts-washers',        'Nuts & Washers',            'fasteners',  2),
    ('anchors-rivets',      'Anchors & Rivets',          'fasteners',  3),
    ('cables-wire',         'Cables & Wire',             'electrical', 1),
    ('connectors',          'Connectors & Terminals',    'electrical', 2),
    ('lighting',            'Lighting',                  'electrical', 3),
    ('gloves',              'Gloves',                    'safety',     1),
    ('eye-face',            'Eye & Face Protection',     'safety',     2),
    ('hearing',             'Hearing Protection',        'safety',     3),
    ('hi-vis',              'Hi-Vis Clothing',           'safety',     4),
    ('first-aid',           'First Aid',                 'safety',     5),
    ('writing',             'Writing Instruments',       'office',     2),
    ('power-tools',         'Power Tools',               'tools',      2),
    ('measuring',           'Measuring & Testing',       'tools',      3),
    ('paper-labels',        'Paper & Labels',            'office',     1),
    ('hand-tools',          'Hand Tools',                'tools',      1),
    ('filing',              'Filing & Storage',          'office',     3),
    ('cleaning-chemicals',  'Cleaning Chemicals',        'facility',   1),
    ('janitorial-supplies', 'Janitorial Supplies',       'facility',   2),
    ('pipe-fittings',       'Pipe & Fittings',           'plumbing',   1),
    ('valves',              'Valves',                    'plumbing',   2),
    ('hazardous-materials', 'Hazardous Materials',       'chemicals',  3),
    ('tapes',               'Tapes',                     'packaging',  1),
    ('boxes-mailers',       'Boxes & Mailers',           'packaging',  2),
    ('hvac-filters',        'HVAC Filters',              'facility',   3),
    ('adhesives-sealants',  'Adhesives & Sealants',      'chemicals',  1))
       AS v (code, name, parent, sort)
  JOIN categories p ON p.code = v.parent
 ORDER BY p.sort, v.sort;

INSERT INTO product_groups (code, name) VALUES
    ('FASTENERS',   'Fasteners (commodity)'),
    ('CABLE',       'Cable & wire'),
    ('ELECTRICAL',  'Electrical components'),
    ('LIGHTING',    'Lighting'),
    ('PPE',         'Personal protective equipment'),
    ('HAND-TOOLS',  'Hand & measuring tools'),
    ('POWER-TOOLS', 'Power tools'),
    ('OFFICE',      'Office consumables'),
    ('CHEMICALS',   'Chemicals & adhesives'),
    ('JANITORIAL',  'Janitorial consumables'),
    ('PLUMBING',    'Plumbing'),
    ('PACKAGING',   'Packaging');

-- Pricing rules that do not depend on the product count -----------------------

-- GOLD: 8 % off everything, 12 % off cable. SILVER: 4 % off everything.
INSERT INTO price_rules (kind, price_list_id, product_group_id, discount_bp, label)
SELECT 'tier', pl.id, g.id, v.bp, v.label
  FROM (VALUES ('GOLD',   NULL,    800, 'GOLD: 8% off all products'),
               ('GOLD',   'CABLE', 1200, 'GOLD: 12% off cable & wire'),
               ('SILVER', NULL,    400, 'SILVER: 4% off all products'))
       AS v (price_list, grp, bp, label)
  JOIN price_lists pl ON pl.code = v.price_list
  LEFT JOIN product_groups g ON g.code = v.grp
 ORDER BY v.price_list, v.grp NULLS FIRST;

-- Volume brackets on groups.
INSERT INTO price_rules (kind, product_group_id, min_qty, discount_bp, label)
SELECT 'bracket', g.id, v.min_qty, v.bp, v.label
  FROM (VALUES ('FASTENERS', 10,   300, 'Fasteners: 3% from 10'),
               ('FASTENERS', 50,   600, 'Fasteners: 6% from 50'),
               ('FASTENERS', 100, 1000, 'Fasteners: 10% from 100'),
               ('PACKAGING', 100,  800, 'Packaging: 8% from 100'))
       AS v (grp, min_qty, bp, label)
  JOIN product_groups g ON g.code = v.grp
 ORDER BY v.grp, v.min_qty;

-- Contracts on groups (product contracts come with the products).
INSERT INTO price_rules (kind, account_id, product_group_id, discount_bp, valid_from, valid_to, label)
SELECT 'contract', a.id, g.id, v.bp, v.valid_from::timestamptz, v.valid_to::timestamptz, v.label
  FROM (VALUES ('ACME-NA', 'PPE',    1500, '2024-01-01 00:00:00+00', NULL, 'Acme NA: PPE 15% off'),
               ('ACME',    'OFFICE', 1000, NULL,                     NULL, 'Acme group: office consumables 10% off'))
       AS v (account, grp, bp, valid_from, valid_to, label)
  JOIN accounts a ON a.code = v.account
  JOIN product_groups g ON g.code = v.grp
 ORDER BY v.account, v.grp;

-- Promo codes.
INSERT INTO price_rules (kind, promo_code, discount_bp, min_qty, stackable, valid_from, valid_to, label)
VALUES ('promo', 'SPRING10', 1000, NULL, false, '2024-01-01 00:00:00+00', '2100-01-01 00:00:00+00', 'Spring promotion 10% (not stackable)'),
       ('promo', 'VIP5',      500, 5,    true,  '2024-01-01 00:00:00+00', '2100-01-01 00:00:00+00', 'VIP 5% from 5 units (stackable)'),
       ('promo', 'WINTER20', 2000, NULL, false, '2020-12-01 00:00:00+00', '2021-03-01 00:00:00+00', 'Winter 2020 20% (expired)');

-- Tax: US no sales tax here; VAT for DE, FR, GB by tax class.
INSERT INTO price_rules (kind, country, tax_class, rate_bp, label) VALUES
    ('tax', 'US', NULL,          0, 'US: no tax collected'),
    ('tax', 'DE', 'standard', 1900, 'DE VAT standard 19%'),
    ('tax', 'DE', 'reduced',   700, 'DE VAT reduced 7%'),
    ('tax', 'FR', 'standard', 2000, 'FR VAT standard 20%'),
    ('tax', 'FR', 'reduced',   550, 'FR VAT reduced 5.5%'),
    ('tax', 'GB', 'standard', 2000, 'GB VAT standard 20%'),
    ('tax', 'GB', 'reduced',   500, 'GB VAT reduced 5%');

-- FX: 1 unit of currency = fx_rate_micro / 1,000,000 units of to_currency.
INSERT INTO price_rules (kind, currency, to_currency, fx_rate_micro, label) VALUES
    ('fx', 'USD', 'EUR',    921500, 'USD->EUR 0.9215'),
    ('fx', 'EUR', 'USD',   1085200, 'EUR->USD 1.0852'),
    ('fx', 'USD', 'JPY', 151230000, 'USD->JPY 151.23'),
    ('fx', 'USD', 'KWD',    307400, 'USD->KWD 0.3074'),
    ('fx', 'USD', 'GBP',    789500, 'USD->GBP 0.7895'),
    ('fx', 'GBP', 'USD',   1266600, 'GBP->USD 1.2666'),
    ('fx', 'EUR', 'GBP',    856700, 'EUR->GBP 0.8567');

-- Approval: Acme NA orders of 5,000.00 USD or more, Acme EMEA 4,000.00 EUR.
INSERT INTO approval_rules (account_id, threshold_minor, currency)
SELECT a.id, v.threshold, v.currency
  FROM (VALUES ('ACME-NA', 500000, 'USD'), ('ACME-EMEA', 400000, 'EUR')) AS v (account, threshold, currency)
  JOIN accounts a ON a.code = v.account
 ORDER BY a.id;

-- Catalog access: EMEA may not buy hazardous materials, but Acme France (below
-- EMEA, licensed) may again: the nearest rule wins. Globex buys no power tools.
INSERT INTO catalog_access_rules (account_id, category_id, product_group_id, effect)
SELECT a.id, c.id, g.id, v.effect
  FROM (VALUES ('ACME-EMEA', 'hazardous-materials', NULL,          'deny'),
               ('ACME-FR',   'hazardous-materials', NULL,          'allow'),
               ('GLOBEX',    NULL,                  'POWER-TOOLS', 'deny'))
       AS v (account, category, grp, effect)
  JOIN accounts a ON a.code = v.account
  LEFT JOIN categories c ON c.code = v.category
  LEFT JOIN product_groups g ON g.code = v.grp
 ORDER BY a.id;
