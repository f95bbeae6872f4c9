-- Reusable SQL functions of the loader's validation statement (created by `arrears db init`).
-- They live in schema audit because they exist to explain and route bad rows.

-- GB 11643 check character of an 18-character PRC resident ID: weights 2^(18-i) mod 11,
-- then '10X98765432' indexed by the weighted sum mod 11. The CASE guards the cast: only
-- well-formed IDs reach the arithmetic.
create or replace function audit.is_valid_national_id(national_id text)
returns boolean
language sql
immutable
strict
parallel safe
return case
    when national_id ~ '^[0-9]{17}[0-9X]$'
        then substr(
            '10X98765432',
            (
                select sum(substr(national_id, weights.position::integer, 1)::integer * weights.weight)
                from unnest('{7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2}'::integer[]) with ordinality
                    as weights (weight, position)
            )::integer % 11 + 1,
            1
        ) = substr(national_id, 18, 1)
    else false
end;

-- One field as it would appear in a CSV record (RFC 4180 quoting), to show a quarantined row
-- the way the source wrote it.
create or replace function audit.csv_field(field text)
returns text
language sql
immutable
parallel safe
return case
    when field is null then ''
    when field = '' or field ~ '[",\r\n]' then '"' || replace(field, '"', '""') || '"'
    else field
end;
