/**
 * What a job mounts: storage folders, secret files and disks. Produced by the `Parser`
 * (`volume`, `volumes`) and consumed by `Jobs.start`; the wire form (snake_case) belongs to the
 * jobs API and is encoded there.
 *
 * @since 1.0.0
 */
import * as Schema from "effect/Schema"

const Url = Schema.instanceOf(URL)

/**
 * A storage folder mounted into a job's container (`storage:data:/mnt/data:ro`).
 *
 * @since 1.0.0
 * @category models
 */
export class Volume extends Schema.Class<Volume>("@neuro-sdk/core/Volume")({
  storageUri: Url,
  containerPath: Schema.String,
  readOnly: Schema.optionalWith(Schema.Boolean, { default: () => false })
}) {}

/**
 * A secret exposed as a file in a job's container (`secret:key:/etc/key`).
 *
 * @since 1.0.0
 * @category models
 */
export class SecretFile extends Schema.Class<SecretFile>("@neuro-sdk/core/SecretFile")({
  secretUri: Url,
  containerPath: Schema.String
}) {}

/**
 * A disk mounted into a job's container (`disk:disk-1:/mnt/disk:rw`).
 *
 * @since 1.0.0
 * @category models
 */
export class DiskVolume extends Schema.Class<DiskVolume>("@neuro-sdk/core/DiskVolume")({
  diskUri: Url,
  containerPath: Schema.String,
  readOnly: Schema.optionalWith(Schema.Boolean, { default: () => false })
}) {}
