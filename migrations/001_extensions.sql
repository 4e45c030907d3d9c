-- 001_extensions.sql
--
-- The extensions the schema relies on:
--   uuid-ossp   UUID generators kept for compatibility with the original schema
--   vector      pgvector: embeddings and HNSW indexes (0.5.0 or newer: HNSW arrived in 0.5.0)
--   pgcrypto    digests for session token hashes
--   citext      case-insensitive e-mail addresses and slugs
--   btree_gist  exclusion constraints mixing equality and ranges
--
-- On Aurora PostgreSQL the master user creates these as a member of rds_superuser; nothing here needs a
-- real superuser. IF NOT EXISTS keeps the file safe on a database where an administrator created them first.

CREATE EXTENSION IF NOT EXISTS "uuid-ossp";
CREATE EXTENSION IF NOT EXISTS vector;
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE EXTENSION IF NOT EXISTS citext;
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- HNSW indexes (002) need pgvector 0.5.0 or newer. An older, pre-installed pgvector is not upgraded silently:
-- the migration stops here, before any table exists, and says what to do.
DO $$
DECLARE
    installed text;
BEGIN
    SELECT extversion INTO installed FROM pg_extension WHERE extname = 'vector';
    IF string_to_array(split_part(installed, '-', 1), '.')::int[] < ARRAY[0, 5, 0] THEN
        RAISE EXCEPTION 'pgvector % is installed, but this schema needs pgvector 0.5.0 or newer (HNSW indexes)',
                installed
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Run ALTER EXTENSION vector UPDATE, or upgrade the engine to a version that ships pgvector 0.5.0+ '
                      || '(Aurora PostgreSQL 15.4, 16.1 or newer), then deploy again.';
    END IF;
END
$$;
