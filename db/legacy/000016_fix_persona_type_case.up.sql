-- 000016_fix_persona_type_case
-- Persona types become lower case (dns/http), as the Go models write them, and a CHECK keeps them so.

UPDATE personas SET persona_type = lower(persona_type) WHERE persona_type IN ('DNS', 'HTTP');

ALTER TABLE personas DROP CONSTRAINT IF EXISTS personas_persona_type_check;
ALTER TABLE personas ADD CONSTRAINT personas_persona_type_check CHECK (persona_type IN ('dns', 'http'));
