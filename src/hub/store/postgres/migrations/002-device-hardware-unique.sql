-- One device record per board (hardware id), across hubs (issue 15). Each hub takes one join per
-- board at a time, but two hubs could each find no record and each register the same board.
--
-- Duplicates already stored are merged first: of a board's records the oldest (registeredAt, then
-- id) is kept. The others are deleted like a deleted device: their observed state, desired and
-- reported documents and events go, and their replicas are freed (the next placement pass places
-- them again). Their credentials stop working at once: the broker finds no device for them. An
-- agent refused so re-joins by itself when it was started with a join token, and, proving the same
-- key, becomes the kept device (another key: held for approval, as on one hub); otherwise it needs
-- `edgepilot agent` with a join token again. The token uses the duplicate joins spent are not given back.
CREATE TEMP TABLE ep_duplicate_devices ON COMMIT DROP AS
  SELECT key FROM (
    SELECT key, row_number() OVER (PARTITION BY doc ->> 'hardwareId' ORDER BY doc ->> 'registeredAt', key) AS n
    FROM ep_records WHERE kind = 'devices'
  ) AS ranked
  WHERE n > 1;

DELETE FROM ep_records
  WHERE kind IN ('devices', 'observed', 'desired', 'reported') AND key IN (SELECT key FROM ep_duplicate_devices);
DELETE FROM ep_records
  WHERE kind = 'events' AND key IN (SELECT 'device/' || key FROM ep_duplicate_devices);

-- Freed replicas: their ordinals leave `replicas` and `peripherals` (the claims go with the replica).
UPDATE ep_records AS p SET doc = (
  (p.doc::jsonb - 'replicas' - 'peripherals')
  || jsonb_build_object('replicas', COALESCE(
       (SELECT jsonb_object_agg(r.key, r.value) FROM jsonb_each(p.doc::jsonb -> 'replicas') AS r
        WHERE r.value #>> '{}' NOT IN (SELECT key FROM ep_duplicate_devices)), '{}'::jsonb))
  || CASE WHEN p.doc -> 'peripherals' IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('peripherals', COALESCE(
       (SELECT jsonb_object_agg(c.key, c.value) FROM jsonb_each(p.doc::jsonb -> 'peripherals') AS c
        WHERE COALESCE(p.doc -> 'replicas' ->> c.key, '') NOT IN (SELECT key FROM ep_duplicate_devices)), '{}'::jsonb)) END
)::json
WHERE p.kind = 'placements'
  AND EXISTS (SELECT 1 FROM json_each_text(p.doc -> 'replicas') AS r WHERE r.value IN (SELECT key FROM ep_duplicate_devices));

-- A join's insert of a second record of a board now fails (23505 on this index); the store
-- answers HardwareIdTaken and the join becomes a re-join of the stored record.
DROP INDEX ep_records_device_hardware;
CREATE UNIQUE INDEX ep_records_device_hardware_unique ON ep_records ((doc ->> 'hardwareId')) WHERE kind = 'devices';
