-- A switch's management interface (eth0 in the mgmt VRF: address with its length, gateway, extra
-- routes) and its own address on the PXE segment, as its agent registers them.
ALTER TABLE switches ADD COLUMN management jsonb;
ALTER TABLE switches ADD COLUMN pxe_address text NOT NULL DEFAULT '';
