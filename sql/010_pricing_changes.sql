-- The log of price-rule changes made through the admin API: one row per
-- change, with the rules version it produced and the narrowest scope it
-- touches. A worker whose snapshot is at generation G reads the rows after
-- G: if they cover every version up to the current one it rebuilds only
-- those scopes; any gap (a bulk load, a change by hand) means a full build.
CREATE TABLE price_rule_changes (
    version     bigint PRIMARY KEY,
    scope_kind  text NOT NULL CONSTRAINT price_rule_changes_scope_valid
                CHECK (scope_kind IN ('all', 'account', 'product_group', 'sku')),
    scope_id    bigint NOT NULL DEFAULT 0,
    rule_id     bigint,
    action      text NOT NULL CHECK (action IN ('create', 'update', 'delete')),
    actor       text,
    changed_at  timestamptz NOT NULL DEFAULT now()
);
