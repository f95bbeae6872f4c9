-- Payments and reversals delivered on or before the business date, each once (first delivery wins, §1).
{{ staged_payments() }}
