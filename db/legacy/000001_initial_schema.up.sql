-- 000001_initial_schema
-- DomainFlow's core tables: campaigns and their per-type parameters, generated domains, DNS and
-- HTTP keyword results, personas, keyword sets, proxies, audit logs, and the shared updated_at
-- trigger function. Reproduces the legacy catalog (legacy-schema.md, "model C") unchanged.
-- Applies in one transaction. uuid-ossp supplies uuid_generate_v4(), the default of every id here.

CREATE EXTENSION IF NOT EXISTS "uuid-ossp";

CREATE TABLE campaigns (
    id                  uuid PRIMARY KEY DEFAULT uuid_generate_v4(),
    name                text NOT NULL,
    campaign_type       text NOT NULL DEFAULT 'domain_generation'
                        CHECK (campaign_type IN ('domain_generation', 'dns_validation', 'http_keyword_validation')),
    status              text NOT NULL,
    user_id             text,
    total_items         bigint DEFAULT 0,
    processed_items     bigint DEFAULT 0,
    successful_items    bigint DEFAULT 0,
    failed_items        bigint DEFAULT 0,
    progress_percentage double precision DEFAULT 0.0,
    metadata            jsonb,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    started_at          timestamptz,
    completed_at        timestamptz,
    error_message       text
);
CREATE INDEX idx_campaigns_status ON campaigns (status);
CREATE INDEX idx_campaigns_type ON campaigns (campaign_type);
CREATE INDEX idx_campaigns_user_id ON campaigns (user_id);
CREATE INDEX idx_campaigns_created_at ON campaigns (created_at DESC);

CREATE TABLE campaign_jobs (
    id                   uuid PRIMARY KEY DEFAULT uuid_generate_v4(),
    campaign_id          uuid NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    job_type             text NOT NULL,
    status               text NOT NULL DEFAULT 'pending',
    job_payload          jsonb,
    attempts             integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts         integer NOT NULL DEFAULT 3 CHECK (max_attempts > 0),
    last_error           text,
    last_attempted_at    timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    scheduled_at         timestamptz NOT NULL DEFAULT now(),
    processing_server_id text,
    next_execution_at    timestamptz,
    locked_at            timestamptz,
    locked_by            text
);
CREATE INDEX idx_campaign_jobs_campaign_id ON campaign_jobs (campaign_id);
CREATE INDEX idx_campaign_jobs_status ON campaign_jobs (status);
CREATE INDEX idx_campaign_jobs_scheduled_at ON campaign_jobs (scheduled_at);
CREATE INDEX idx_campaign_jobs_next_execution ON campaign_jobs (next_execution_at);

CREATE TABLE domain_generation_campaign_params (
    campaign_id                 uuid PRIMARY KEY REFERENCES campaigns (id) ON DELETE CASCADE,
    pattern_type                text NOT NULL,
    variable_length             integer,
    character_set               text,
    constant_string             text,
    tld                         text NOT NULL,
    num_domains_to_generate     integer NOT NULL,
    total_possible_combinations bigint NOT NULL,
    current_offset              bigint NOT NULL DEFAULT 0
);

CREATE TABLE domain_generation_config_states (
    config_hash    text PRIMARY KEY,
    last_offset    bigint NOT NULL,
    config_details jsonb NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE generated_domains (
    id                            uuid PRIMARY KEY DEFAULT uuid_generate_v4(),
    domain_generation_campaign_id uuid NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    domain_name                   text NOT NULL,
    source_keyword                text,
    source_pattern                text,
    tld                           text,
    offset_index                  bigint NOT NULL DEFAULT 0,
    generated_at                  timestamptz NOT NULL DEFAULT now(),
    created_at                    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT uq_generated_domains_campaign_name UNIQUE (domain_generation_campaign_id, domain_name)
);
CREATE INDEX idx_generated_domains_offset ON generated_domains (domain_generation_campaign_id, offset_index);
CREATE INDEX idx_generated_domains_campaign_id ON generated_domains (domain_generation_campaign_id);
CREATE INDEX idx_generated_domains_name ON generated_domains (domain_name);

-- persona_type gets its CHECK only in 000016 (lower-case dns/http).
CREATE TABLE personas (
    id             uuid PRIMARY KEY DEFAULT uuid_generate_v4(),
    name           text NOT NULL,
    description    text,
    persona_type   text NOT NULL,
    config_details jsonb NOT NULL,
    is_enabled     boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT uq_personas_name_type UNIQUE (name, persona_type)
);
CREATE INDEX idx_personas_type ON personas (persona_type);
CREATE INDEX idx_personas_is_enabled ON personas (is_enabled);

CREATE TABLE keyword_sets (
    id          uuid PRIMARY KEY DEFAULT uuid_generate_v4(),
    name        text NOT NULL UNIQUE,
    description text,
    keywords    jsonb NOT NULL DEFAULT '[]',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE dns_validation_campaign_params (
    campaign_id                   uuid PRIMARY KEY REFERENCES campaigns (id) ON DELETE CASCADE,
    source_generation_campaign_id uuid REFERENCES campaigns (id) ON DELETE SET NULL,
    persona_ids                   uuid[] NOT NULL,
    rotation_interval_seconds     integer DEFAULT 0,
    processing_speed_per_minute   integer DEFAULT 0,
    batch_size                    integer DEFAULT 50 CHECK (batch_size > 0),
    retry_attempts                integer DEFAULT 1 CHECK (retry_attempts >= 0),
    metadata                      jsonb
);

CREATE TABLE dns_validation_results (
    id                      uuid PRIMARY KEY DEFAULT uuid_generate_v4(),
    dns_campaign_id         uuid NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    generated_domain_id     uuid REFERENCES generated_domains (id) ON DELETE SET NULL,
    domain_name             text NOT NULL,
    validation_status       text NOT NULL,
    dns_records             jsonb,
    validated_by_persona_id uuid REFERENCES personas (id) ON DELETE SET NULL,
    attempts                integer DEFAULT 0,
    last_checked_at         timestamptz,
    created_at              timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT uq_dns_results_campaign_domain UNIQUE (dns_campaign_id, domain_name)
);
CREATE INDEX idx_dns_results_campaign_id ON dns_validation_results (dns_campaign_id);
CREATE INDEX idx_dns_results_domain_name ON dns_validation_results (domain_name);
CREATE INDEX idx_dns_results_status ON dns_validation_results (validation_status);

CREATE TABLE http_keyword_campaign_params (
    campaign_id                 uuid PRIMARY KEY REFERENCES campaigns (id) ON DELETE CASCADE,
    source_campaign_id          uuid NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    source_type                 text NOT NULL,
    persona_ids                 uuid[] NOT NULL,
    keyword_set_ids             uuid[] NOT NULL,
    ad_hoc_keywords             text[],
    proxy_ids                   uuid[],
    proxy_pool_id               uuid,
    proxy_selection_strategy    text,
    rotation_interval_seconds   integer DEFAULT 0,
    processing_speed_per_minute integer DEFAULT 0,
    batch_size                  integer DEFAULT 10 CHECK (batch_size > 0),
    retry_attempts              integer DEFAULT 1 CHECK (retry_attempts >= 0),
    target_http_ports           integer[],
    last_processed_domain_name  text,
    metadata                    jsonb
);

CREATE TABLE proxies (
    id              uuid PRIMARY KEY DEFAULT uuid_generate_v4(),
    name            text NOT NULL UNIQUE,
    description     text,
    address         text NOT NULL UNIQUE,
    protocol        text,
    username        text,
    password_hash   text,
    host            text,
    port            integer,
    is_enabled      boolean NOT NULL DEFAULT true,
    is_healthy      boolean NOT NULL DEFAULT true,
    last_status     text,
    last_checked_at timestamptz,
    latency_ms      integer,
    city            text,
    country_code    text,
    provider        text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_proxies_is_enabled ON proxies (is_enabled);

CREATE TABLE http_keyword_results (
    id                        uuid PRIMARY KEY DEFAULT uuid_generate_v4(),
    http_keyword_campaign_id  uuid NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    dns_result_id             uuid REFERENCES dns_validation_results (id) ON DELETE SET NULL,
    domain_name               text NOT NULL,
    validation_status         text NOT NULL,
    http_status_code          integer,
    response_headers          jsonb,
    page_title                text,
    extracted_content_snippet text,
    found_keywords_from_sets  jsonb,
    found_ad_hoc_keywords     jsonb,
    content_hash              text,
    validated_by_persona_id   uuid REFERENCES personas (id) ON DELETE SET NULL,
    used_proxy_id             uuid REFERENCES proxies (id) ON DELETE SET NULL,
    attempts                  integer NOT NULL DEFAULT 0,
    last_checked_at           timestamptz,
    created_at                timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT uq_http_results_campaign_domain UNIQUE (http_keyword_campaign_id, domain_name)
);
CREATE INDEX idx_http_results_campaign_id ON http_keyword_results (http_keyword_campaign_id);
CREATE INDEX idx_http_results_domain_name ON http_keyword_results (domain_name);
CREATE INDEX idx_http_results_status ON http_keyword_results (validation_status);

CREATE TABLE audit_logs (
    id          uuid PRIMARY KEY DEFAULT uuid_generate_v4(),
    "timestamp" timestamptz NOT NULL DEFAULT now(),
    user_id     text,
    action      text NOT NULL,
    entity_type text,
    entity_id   uuid,
    details     jsonb,
    client_ip   text,
    user_agent  text
);

-- Shared by every set_timestamp_* trigger (auth tables too, from 000002 on).
CREATE FUNCTION trigger_set_timestamp() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

CREATE TRIGGER set_timestamp_campaigns BEFORE UPDATE ON campaigns
    FOR EACH ROW EXECUTE FUNCTION trigger_set_timestamp();
CREATE TRIGGER set_timestamp_personas BEFORE UPDATE ON personas
    FOR EACH ROW EXECUTE FUNCTION trigger_set_timestamp();
CREATE TRIGGER set_timestamp_keyword_sets BEFORE UPDATE ON keyword_sets
    FOR EACH ROW EXECUTE FUNCTION trigger_set_timestamp();
CREATE TRIGGER set_timestamp_proxies BEFORE UPDATE ON proxies
    FOR EACH ROW EXECUTE FUNCTION trigger_set_timestamp();
