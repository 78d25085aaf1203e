-- 000016_fix_persona_type_case (down)
-- Drops the CHECK (000001 had none). Types stay lower case: which rows were upper case is not
-- recorded, and lower case is what the application writes.

ALTER TABLE personas DROP CONSTRAINT personas_persona_type_check;
