-- 060_pricing_follows_active: the price snapshot holds active products only
-- (b2b_pricing_shell.h, B2B_SQL_PRODUCTS), so taking a product off the
-- catalog or putting it back changes what can be priced: bump the pricing
-- version then too. Without it a reactivated product stayed unpriceable
-- (404 on the quote while the catalog showed it) until some other change
-- forced a full rebuild, and a deactivated one stayed priced.
DROP TRIGGER products_pricing_bump ON products;
CREATE TRIGGER products_pricing_bump
    AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF product_group_id, tax_class, active
    ON products
    FOR EACH STATEMENT EXECUTE FUNCTION b2b_pricing_bump();
