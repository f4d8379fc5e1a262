-- IPAM: namespaces, prefixes (top-level and children), addresses.
--
-- Integrity lives in the database: an address is unique per namespace (primary key), sibling
-- prefixes never overlap (exclusion constraint), and every change happens in one function call,
-- so one round trip and one transaction per operation.
--
-- Allocation structures, both bounded per operation whatever the fill level:
--   free_blocks  free space of a parent prefix as aligned blocks (a buddy allocator): acquiring a
--                child takes the lowest fitting block and splits it; releasing merges buddies.
--   ip_blocks    addresses of a pool prefix in bitmaps of 64, created on demand; a partial index
--                holds only blocks with free addresses, and concurrent acquirers take different
--                blocks (FOR UPDATE SKIP LOCKED), so they do not queue behind one row.
--
-- Functions raise SQLSTATE BH400 (invalid argument; DETAIL = field), BH404 (not found), BH409
-- (already exists), BH412 (failed precondition), BH429 (exhausted); DETAIL carries what the
-- error is about and the service maps them to Connect codes.

CREATE EXTENSION IF NOT EXISTS btree_gist SCHEMA public;

CREATE TABLE namespaces (
  name text PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO namespaces (name) VALUES ('root');

CREATE TABLE prefixes (
  id bigserial PRIMARY KEY,
  namespace text NOT NULL REFERENCES namespaces (name) ON DELETE RESTRICT,
  cidr cidr NOT NULL,
  parent_id bigint REFERENCES prefixes (id) ON DELETE RESTRICT,
  -- 0 unused, 1 parent of child prefixes, 2 pool of addresses
  use smallint NOT NULL DEFAULT 0 CHECK (use IN (0, 1, 2)),
  -- pool prefixes: offset, in addresses from the first block, of the first block not created yet
  next_block_offset bigint NOT NULL DEFAULT 0,
  request_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT prefixes_unique UNIQUE (namespace, cidr),
  CONSTRAINT prefixes_siblings_do_not_overlap EXCLUDE USING gist (namespace WITH =, (coalesce(parent_id, 0)) WITH =, cidr inet_ops WITH &&)
);
CREATE INDEX prefixes_children ON prefixes (parent_id, cidr) WHERE parent_id IS NOT NULL;
CREATE UNIQUE INDEX prefixes_request_id ON prefixes (namespace, request_id) WHERE request_id IS NOT NULL;

CREATE TABLE free_blocks (
  parent_id bigint NOT NULL REFERENCES prefixes (id) ON DELETE CASCADE,
  block cidr NOT NULL,
  PRIMARY KEY (parent_id, block)
);

CREATE TABLE ip_blocks (
  prefix_id bigint NOT NULL REFERENCES prefixes (id) ON DELETE CASCADE,
  first inet NOT NULL,
  -- bit i is 1 when first+i is taken, reserved or outside the prefix
  bits bit(64) NOT NULL,
  free smallint NOT NULL,
  used smallint NOT NULL DEFAULT 0,
  -- Only this flag is indexed, and it changes only when a block fills or empties, so the update
  -- of every acquire and release stays a HOT update (no new index entries).
  is_full boolean NOT NULL DEFAULT false,
  PRIMARY KEY (prefix_id, first)
) WITH (fillfactor = 50);
CREATE INDEX ip_blocks_with_space ON ip_blocks (prefix_id, first) WHERE NOT is_full;

-- No foreign key to prefixes: its check would share-lock the prefix row from every concurrent
-- acquirer (and cost 13 % of throughput). Instead an address is written together with the bit
-- of its block, and delete_prefix locks every block of the prefix before it checks that none
-- holds an address, so it waits for acquisitions in flight and never orphans an address.
CREATE TABLE ips (
  namespace text NOT NULL,
  ip inet NOT NULL,
  prefix_id bigint NOT NULL,
  request_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (namespace, ip)
);
CREATE UNIQUE INDEX ips_request_id ON ips (namespace, request_id) WHERE request_id IS NOT NULL;

-- 32 or 128.
CREATE FUNCTION addr_bits(a inet) RETURNS int LANGUAGE sql IMMUTABLE AS
$$ SELECT CASE family(a) WHEN 4 THEN 32 ELSE 128 END $$;

-- The address itself, as a host address (/32 or /128).
CREATE FUNCTION host_of(a inet) RETURNS inet LANGUAGE sql IMMUTABLE AS
$$ SELECT set_masklen(a, addr_bits(a)) $$;

-- The first address of the 64-address block holding a.
CREATE FUNCTION block_of(a inet) RETURNS inet LANGUAGE sql IMMUTABLE AS
$$ SELECT set_masklen(network(set_masklen(a, addr_bits(a) - 6))::inet, addr_bits(a)) $$;

-- Addresses never handed out: IPv4 network and broadcast (prefixes up to /30) and the IPv6
-- subnet-router anycast address (prefixes up to /126).
CREATE FUNCTION is_reserved(a inet, p cidr) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE family(p)
    WHEN 4 THEN masklen(p) <= 30 AND (host_of(a) = host_of(network(p)) OR host_of(a) = host_of(broadcast(p)))
    ELSE masklen(p) <= 126 AND host_of(a) = host_of(network(p))
  END
$$;

-- Bitmap and free count of the block starting at first, for pool prefix p.
CREATE FUNCTION block_bits(first inet, p cidr, OUT bits bit(64), OUT free int) LANGUAGE sql IMMUTABLE AS $$
  SELECT string_agg(CASE WHEN taken THEN '1' ELSE '0' END, '' ORDER BY i)::bit(64), (count(*) FILTER (WHERE NOT taken))::int
  FROM (SELECT i, NOT ((first + i) <<= p) OR is_reserved(first + i, p) AS taken FROM generate_series(0, 63) AS i) s
$$;

-- The other half of the parent block of b.
CREATE FUNCTION buddy(b cidr) RETURNS cidr LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    WHEN set_masklen(network(set_masklen(b, masklen(b) - 1)), masklen(b)) = b
      THEN set_masklen((b | (hostmask(set_masklen(b, masklen(b) - 1)) & ~hostmask(b)))::cidr, masklen(b))
    ELSE set_masklen(network(set_masklen(b, masklen(b) - 1)), masklen(b))
  END
$$;

CREATE FUNCTION raise_not_found(what text, name text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = 'BH404', MESSAGE = format('%s %s not found', what, name), DETAIL = what || '|' || name;
END $$;

-- Raises not_found for a prefix, or for its namespace when that does not exist.
CREATE FUNCTION raise_prefix_not_found(p_namespace text, p_cidr cidr) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM namespaces WHERE name = p_namespace) THEN
    PERFORM raise_not_found('namespace', p_namespace);
  END IF;
  PERFORM raise_not_found('prefix', p_cidr::text);
END $$;

-- Marks an unused prefix as parent (1) or pool (2); fails if it is used the other way. Prefix
-- rows are not locked by acquisitions: this conditional update decides races between the first
-- child and the first address, and foreign keys from ips and child prefixes guard deletion.
CREATE FUNCTION claim_use(p_id bigint, p_cidr cidr, p_use smallint, wanted smallint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  current smallint := p_use;
BEGIN
  IF current = 0 THEN
    UPDATE prefixes SET use = wanted WHERE id = p_id AND use = 0;
    IF NOT FOUND THEN
      SELECT use INTO current FROM prefixes WHERE id = p_id;
    ELSE
      current := wanted;
      IF wanted = 1 THEN
        INSERT INTO free_blocks (parent_id, block) VALUES (p_id, p_cidr);
      END IF;
    END IF;
  END IF;
  IF current <> wanted THEN
    RAISE EXCEPTION USING ERRCODE = 'BH412',
      MESSAGE = CASE wanted
        WHEN 2 THEN format('prefix %s has child prefixes; IPs are acquired from its children', p_cidr)
        ELSE format('prefix %s holds IPs; a prefix is either a parent of children or a pool of IPs', p_cidr) END,
      DETAIL = 'prefix|' || p_cidr::text;
  END IF;
END $$;

-- Creates the next address blocks of a pool prefix: all of them for a prefix of up to 1024
-- blocks (an IPv4 /16), else 16 at a time. Next-free searches at most the first 2^62 addresses
-- of an IPv6 prefix. Returns false when every block exists already.
CREATE FUNCTION create_next_blocks(p_id bigint, p_prefix cidr) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  v_base inet := block_of(network(p_prefix));
  v_host_bits int := addr_bits(p_prefix) - masklen(p_prefix);
  v_blocks bigint := CASE WHEN v_host_bits - 6 >= 56 THEN 72057594037927936 ELSE 2::bigint ^ greatest(0, v_host_bits - 6) END;
  v_limit bigint := v_blocks * 64;
  v_batch bigint := CASE WHEN v_blocks <= 1024 THEN v_blocks ELSE 16 END * 64;
  v_start bigint;
BEGIN
  -- Concurrent callers queue on this update and each claims a different batch.
  UPDATE prefixes SET next_block_offset = least(next_block_offset + v_batch, v_limit)
    WHERE id = p_id AND next_block_offset < v_limit
    RETURNING next_block_offset - v_batch INTO v_start;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  INSERT INTO ip_blocks (prefix_id, first, bits, free, is_full)
    SELECT p_id, f, b.bits, b.free, b.free = 0
    FROM generate_series(v_start, least(v_start + v_batch, v_limit) - 64, 64) AS o, LATERAL (SELECT v_base + o AS f) x, LATERAL block_bits(f, p_prefix) b
    ON CONFLICT DO NOTHING;
  RETURN true;
END $$;

CREATE FUNCTION acquire_ip(p_namespace text, p_prefix cidr, p_ip inet, p_request_id text) RETURNS ips LANGUAGE plpgsql AS $$
DECLARE
  v_id bigint;
  v_use smallint;
  v_first inet;
  v_offset int;
  v_taken int;
  v_result ips;
BEGIN
  IF p_request_id IS NOT NULL THEN
    SELECT i.* INTO v_result FROM ips i WHERE i.namespace = p_namespace AND i.request_id = p_request_id;
    IF FOUND THEN
      IF NOT EXISTS (SELECT 1 FROM prefixes WHERE id = v_result.prefix_id AND cidr = p_prefix) OR (p_ip IS NOT NULL AND host_of(p_ip) <> v_result.ip) THEN
        RAISE EXCEPTION USING ERRCODE = 'BH400', MESSAGE = format('request_id %s was used for address %s; use a new request_id for a different request', p_request_id, host(v_result.ip)), DETAIL = 'request_id';
      END IF;
      RETURN v_result;
    END IF;
  END IF;

  SELECT id, use INTO v_id, v_use FROM prefixes WHERE namespace = p_namespace AND cidr = p_prefix;
  IF NOT FOUND THEN
    PERFORM raise_prefix_not_found(p_namespace, p_prefix);
  END IF;
  IF v_use <> 2 THEN
    PERFORM claim_use(v_id, p_prefix, v_use, 2::smallint);
  END IF;

  IF p_ip IS NOT NULL THEN
    IF family(p_ip) <> family(p_prefix) THEN
      RAISE EXCEPTION USING ERRCODE = 'BH400', MESSAGE = format('%s is not of the address family of prefix %s', host(p_ip), p_prefix), DETAIL = 'ip';
    END IF;
    IF NOT (p_ip <<= p_prefix) THEN
      RAISE EXCEPTION USING ERRCODE = 'BH400', MESSAGE = format('%s is not inside prefix %s', host(p_ip), p_prefix), DETAIL = 'ip';
    END IF;
    IF is_reserved(p_ip, p_prefix) THEN
      RAISE EXCEPTION USING ERRCODE = 'BH400', MESSAGE = format('%s is reserved in prefix %s and never handed out', host(p_ip), p_prefix), DETAIL = 'ip';
    END IF;
    v_first := block_of(p_ip);
    v_offset := (host_of(p_ip) - v_first)::int;
    INSERT INTO ip_blocks (prefix_id, first, bits, free, is_full)
      SELECT v_id, v_first, b.bits, b.free, b.free = 0 FROM block_bits(v_first, p_prefix) b
      ON CONFLICT DO NOTHING;
    SELECT get_bit(bits, v_offset) INTO v_taken FROM ip_blocks WHERE prefix_id = v_id AND first = v_first FOR UPDATE;
    IF v_taken = 1 THEN
      RAISE EXCEPTION USING ERRCODE = 'BH409', MESSAGE = format('%s is already allocated', host(p_ip)), DETAIL = 'ip|' || host(p_ip);
    END IF;
  ELSE
    LOOP
      -- The lowest block with a free address that no concurrent acquirer holds.
      SELECT first, position(B'0' IN bits) - 1 INTO v_first, v_offset
        FROM ip_blocks WHERE prefix_id = v_id AND NOT is_full ORDER BY first LIMIT 1 FOR UPDATE SKIP LOCKED;
      EXIT WHEN FOUND;
      CONTINUE WHEN create_next_blocks(v_id, p_prefix);
      -- Every block exists: wait for one that others hold, or find the prefix full.
      SELECT first, position(B'0' IN bits) - 1 INTO v_first, v_offset
        FROM ip_blocks WHERE prefix_id = v_id AND NOT is_full ORDER BY first LIMIT 1 FOR UPDATE;
      EXIT WHEN FOUND;
      IF NOT EXISTS (SELECT 1 FROM ip_blocks WHERE prefix_id = v_id AND NOT is_full) THEN
        IF NOT EXISTS (SELECT 1 FROM prefixes WHERE id = v_id) THEN
          PERFORM raise_prefix_not_found(p_namespace, p_prefix);
        END IF;
        RAISE EXCEPTION USING ERRCODE = 'BH429', MESSAGE = format('prefix %s has no free IP', p_prefix), DETAIL = 'prefix|' || p_prefix::text;
      END IF;
    END LOOP;
  END IF;

  WITH block AS (
    UPDATE ip_blocks SET bits = set_bit(bits, v_offset, 1), free = free - 1, used = used + 1, is_full = (free = 1)
      WHERE prefix_id = v_id AND first = v_first
      RETURNING first
  )
  INSERT INTO ips (namespace, ip, prefix_id, request_id)
    SELECT p_namespace, block.first + v_offset, v_id, p_request_id FROM block
    RETURNING * INTO v_result;
  RETURN v_result;
END $$;

CREATE FUNCTION release_ip(p_namespace text, p_ip inet, p_prefix cidr) RETURNS ips LANGUAGE plpgsql AS $$
DECLARE
  v_result ips;
  v_cidr cidr;
BEGIN
  DELETE FROM ips WHERE namespace = p_namespace AND ip = host_of(p_ip) RETURNING * INTO v_result;
  IF NOT FOUND THEN
    IF NOT EXISTS (SELECT 1 FROM namespaces WHERE name = p_namespace) THEN
      PERFORM raise_not_found('namespace', p_namespace);
    END IF;
    PERFORM raise_not_found('ip', host(p_ip));
  END IF;
  IF p_prefix IS NOT NULL THEN
    SELECT cidr INTO v_cidr FROM prefixes WHERE id = v_result.prefix_id;
    IF v_cidr <> p_prefix THEN
      RAISE EXCEPTION USING ERRCODE = 'BH400', MESSAGE = format('%s belongs to prefix %s, not %s', host(p_ip), v_cidr, p_prefix), DETAIL = 'prefix_cidr';
    END IF;
  END IF;
  UPDATE ip_blocks SET bits = set_bit(bits, (v_result.ip - first)::int, 0), free = free + 1, used = used - 1, is_full = false
    WHERE prefix_id = v_result.prefix_id AND first = block_of(v_result.ip);
  RETURN v_result;
END $$;

CREATE FUNCTION acquire_child_prefix(p_namespace text, p_parent cidr, p_length int, p_child cidr, p_request_id text) RETURNS prefixes LANGUAGE plpgsql AS $$
DECLARE
  v_parent prefixes;
  v_result prefixes;
  v_free free_blocks;
  v_target cidr;
  v_overlap cidr;
  v_length int := coalesce(masklen(p_child), p_length);
BEGIN
  IF p_request_id IS NOT NULL THEN
    SELECT c.* INTO v_result FROM prefixes c WHERE c.namespace = p_namespace AND c.request_id = p_request_id;
    IF FOUND THEN
      IF NOT EXISTS (SELECT 1 FROM prefixes WHERE id = v_result.parent_id AND cidr = p_parent) OR masklen(v_result.cidr) <> v_length OR (p_child IS NOT NULL AND p_child <> v_result.cidr) THEN
        RAISE EXCEPTION USING ERRCODE = 'BH400', MESSAGE = format('request_id %s was used for prefix %s; use a new request_id for a different request', p_request_id, v_result.cidr), DETAIL = 'request_id';
      END IF;
      RETURN v_result;
    END IF;
  END IF;

  SELECT * INTO v_parent FROM prefixes WHERE namespace = p_namespace AND cidr = p_parent;
  IF NOT FOUND THEN
    PERFORM raise_prefix_not_found(p_namespace, p_parent);
  END IF;
  IF p_child IS NOT NULL AND family(p_child) <> family(p_parent) THEN
    RAISE EXCEPTION USING ERRCODE = 'BH400', MESSAGE = format('%s is not of the address family of prefix %s', p_child, p_parent), DETAIL = 'cidr';
  END IF;
  IF v_length <= masklen(p_parent) OR v_length > addr_bits(p_parent) THEN
    RAISE EXCEPTION USING ERRCODE = 'BH400', MESSAGE = format('a child of %s must be longer than /%s and at most /%s', p_parent, masklen(p_parent), addr_bits(p_parent)),
      DETAIL = CASE WHEN p_child IS NULL THEN 'length' ELSE 'cidr' END;
  END IF;
  IF p_child IS NOT NULL AND NOT (p_child << p_parent) THEN
    RAISE EXCEPTION USING ERRCODE = 'BH400', MESSAGE = format('%s is not inside prefix %s', p_child, p_parent), DETAIL = 'cidr';
  END IF;
  PERFORM claim_use(v_parent.id, v_parent.cidr, v_parent.use, 1::smallint);

  IF p_child IS NOT NULL THEN
    -- The free block containing the child, if any: the child's enclosing block at each length.
    FOR m IN masklen(p_parent)..v_length LOOP
      SELECT * INTO v_free FROM free_blocks WHERE parent_id = v_parent.id AND block = set_masklen(p_child, m) FOR UPDATE;
      EXIT WHEN FOUND;
    END LOOP;
    IF v_free.block IS NULL THEN
      SELECT cidr INTO v_overlap FROM prefixes WHERE parent_id = v_parent.id AND cidr && p_child ORDER BY cidr LIMIT 1;
      RAISE EXCEPTION USING ERRCODE = 'BH409', MESSAGE = format('%s overlaps child prefix %s', p_child, coalesce(v_overlap::text, 'being acquired')), DETAIL = 'prefix|' || coalesce(v_overlap::text, p_child::text);
    END IF;
    v_target := p_child;
  ELSE
    LOOP
      SELECT * INTO v_free FROM free_blocks WHERE parent_id = v_parent.id AND masklen(block) <= v_length ORDER BY block LIMIT 1 FOR UPDATE SKIP LOCKED;
      EXIT WHEN FOUND;
      SELECT * INTO v_free FROM free_blocks WHERE parent_id = v_parent.id AND masklen(block) <= v_length ORDER BY block LIMIT 1 FOR UPDATE;
      EXIT WHEN FOUND;
      IF NOT EXISTS (SELECT 1 FROM free_blocks WHERE parent_id = v_parent.id AND masklen(block) <= v_length) THEN
        RAISE EXCEPTION USING ERRCODE = 'BH429', MESSAGE = format('prefix %s has no free /%s', p_parent, v_length), DETAIL = 'prefix|' || p_parent::text;
      END IF;
    END LOOP;
    v_target := set_masklen(v_free.block, v_length);
  END IF;

  -- Split the free block down to the target: at each length the half not holding it stays free.
  DELETE FROM free_blocks WHERE parent_id = v_parent.id AND block = v_free.block;
  INSERT INTO free_blocks (parent_id, block)
    SELECT v_parent.id, buddy(set_masklen(v_target, k)) FROM generate_series(masklen(v_free.block) + 1, v_length) AS k;
  INSERT INTO prefixes (namespace, cidr, parent_id, request_id)
    VALUES (p_namespace, v_target, v_parent.id, p_request_id)
    RETURNING * INTO v_result;
  RETURN v_result;
END $$;

CREATE FUNCTION release_child_prefix(p_namespace text, p_cidr cidr) RETURNS prefixes LANGUAGE plpgsql AS $$
DECLARE
  v_child prefixes;
  v_parent prefixes;
  v_block cidr;
BEGIN
  SELECT * INTO v_child FROM prefixes WHERE namespace = p_namespace AND cidr = p_cidr FOR UPDATE;
  IF NOT FOUND THEN
    PERFORM raise_prefix_not_found(p_namespace, p_cidr);
  END IF;
  IF v_child.parent_id IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'BH412', MESSAGE = format('%s is a top-level prefix; delete it with DeletePrefix', p_cidr), DETAIL = 'prefix|' || p_cidr::text;
  END IF;
  -- Wait for acquisitions and releases in flight, so the check below sees them.
  PERFORM 1 FROM ip_blocks WHERE prefix_id = v_child.id FOR UPDATE;
  PERFORM check_unused(v_child);
  SELECT * INTO v_parent FROM prefixes WHERE id = v_child.parent_id;
  -- Releases of one parent merge buddies one after another, so two halves freed at the same time
  -- still become one block.
  PERFORM pg_advisory_xact_lock(v_parent.id);
  DELETE FROM prefixes WHERE id = v_child.id;
  v_block := v_child.cidr;
  WHILE masklen(v_block) > masklen(v_parent.cidr) LOOP
    DELETE FROM free_blocks WHERE parent_id = v_parent.id AND block = buddy(v_block);
    EXIT WHEN NOT FOUND;
    v_block := set_masklen(v_block, masklen(v_block) - 1);
  END LOOP;
  INSERT INTO free_blocks (parent_id, block) VALUES (v_parent.id, v_block);
  RETURN v_child;
END $$;

-- Fails unless the prefix holds neither IPs nor child prefixes.
CREATE FUNCTION check_unused(p prefixes) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
BEGIN
  SELECT coalesce(sum(used), 0) INTO n FROM ip_blocks WHERE prefix_id = p.id;
  IF n > 0 THEN
    RAISE EXCEPTION USING ERRCODE = 'BH412', MESSAGE = format('prefix %s still holds %s IPs; release them first', p.cidr, n), DETAIL = 'prefix|' || p.cidr::text;
  END IF;
  SELECT count(*) INTO n FROM prefixes WHERE parent_id = p.id;
  IF n > 0 THEN
    RAISE EXCEPTION USING ERRCODE = 'BH412', MESSAGE = format('prefix %s still has %s child prefixes; release them first', p.cidr, n), DETAIL = 'prefix|' || p.cidr::text;
  END IF;
END $$;

CREATE FUNCTION delete_prefix(p_namespace text, p_cidr cidr) RETURNS prefixes LANGUAGE plpgsql AS $$
DECLARE
  v prefixes;
BEGIN
  SELECT * INTO v FROM prefixes WHERE namespace = p_namespace AND cidr = p_cidr FOR UPDATE;
  IF NOT FOUND THEN
    PERFORM raise_prefix_not_found(p_namespace, p_cidr);
  END IF;
  IF v.parent_id IS NOT NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'BH412', MESSAGE = format('%s is a child prefix; release it with ReleaseChildPrefix', p_cidr), DETAIL = 'prefix|' || p_cidr::text;
  END IF;
  -- Wait for acquisitions and releases in flight, so the check below sees them.
  PERFORM 1 FROM ip_blocks WHERE prefix_id = v.id FOR UPDATE;
  PERFORM check_unused(v);
  DELETE FROM prefixes WHERE id = v.id;
  RETURN v;
END $$;
