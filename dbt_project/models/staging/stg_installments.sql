-- Every schedule version's installments as known at the business date (§1), for every loan.
-- The nightly build reads the stored copy, stored_installments (carried forward, indexed by loan), for
-- the loans it recomputes; this view is what that copy is rebuilt from, and the entity's reference.
{{ staged_installments() }}
