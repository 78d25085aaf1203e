-- 000006_add_keyword_rules_table (down)

DROP TABLE keyword_rules;
