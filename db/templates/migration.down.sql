-- {{DOWN}}
-- Reverses {{FILE}} ({{TITLE}}).
-- Down steps: undo each change of the up file, in reverse order. Rollback notes: what this cannot restore.

SET lock_timeout = '5s';

-- == Down steps ==

