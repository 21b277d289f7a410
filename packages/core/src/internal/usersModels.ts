/**
 * The models of `Users.ts`: actions, permissions, shares. They are declared here and re-exported
 * by `Users.ts`, whose public API they are (so they carry no internal tag). `internal/users.ts`
 * uses them from here: this module imports nothing from `Users.ts`, which imports the
 * implementation, so there is no import cycle.
 */
import * as Schema from "effect/Schema"

/**
 * What a permission allows. Each action implies the ones before it: `MANAGE` (everything,
 * including sharing) > `WRITE` > `READ`.
 *
 * @since 1.0.0
 * @category models
 */
export const Action = {
  READ: "read",
  WRITE: "write",
  MANAGE: "manage"
} as const

/**
 * @since 1.0.0
 * @category models
 */
export type Action = typeof Action[keyof typeof Action]

/**
 * The wire form of an {@link Action}; any other string is rejected.
 *
 * @since 1.0.0
 * @category schemas
 */
export const ActionSchema: Schema.Literal<["read", "write", "manage"]> = Schema.Literal(Action.READ, Action.WRITE, Action.MANAGE)

const UrlSchema = Schema.instanceOf(URL)

/**
 * An action on a resource URI (`storage://cluster/alice/data`, `secret://cluster/alice/key`,
 * `role://alice/roles/team`, ...).
 *
 * @since 1.0.0
 * @category models
 */
export class Permission extends Schema.Class<Permission>("@neuro-sdk/core/Permission")({
  uri: UrlSchema,
  action: ActionSchema
}) {}

/**
 * A permission that a user or role (`user`) holds on somebody's resource.
 *
 * @since 1.0.0
 * @category models
 */
export class Share extends Schema.Class<Share>("@neuro-sdk/core/Share")({
  user: Schema.String,
  permission: Permission
}) {}
