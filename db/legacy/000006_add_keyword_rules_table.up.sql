-- 000006_add_keyword_rules_table
-- Individual keyword rules (plain string or regex) belonging to a keyword set.

CREATE TABLE keyword_rules (
    id                uuid PRIMARY KEY DEFAULT uuid_generate_v4(),
    keyword_set_id    uuid NOT NULL REFERENCES keyword_sets (id) ON DELETE CASCADE,
    pattern           text NOT NULL,
    rule_type         text NOT NULL CHECK (rule_type IN ('string', 'regex')),
    is_case_sensitive boolean NOT NULL DEFAULT false,
    category          text,
    context_chars     integer NOT NULL DEFAULT 0 CHECK (context_chars >= 0),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_keyword_rules_keyword_set_id ON keyword_rules (keyword_set_id);

CREATE TRIGGER set_timestamp_keyword_rules BEFORE UPDATE ON keyword_rules
    FOR EACH ROW EXECUTE FUNCTION trigger_set_timestamp();

COMMENT ON TABLE keyword_rules IS 'Keyword rules (string or regex) that make up a keyword set';
