-- How many changes the reconciler has taken in: every event bumps it before the renders it
-- touches are queued, and so does every resync. A partition's records read when this stood at N
-- hold every change taken in up to N, so renders that began at N or earlier may share that read
-- (src/versioned-reads.ts). A sequence, so replicas bumping it at once never wait on each other.
CREATE SEQUENCE records_version;
