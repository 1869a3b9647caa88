ALTER TABLE import_claims DROP COLUMN owner;
