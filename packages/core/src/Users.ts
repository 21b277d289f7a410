/**
 * The `Users` subsystem: permissions (ACL) of users and roles, sharing and revoking access to
 * resources, and roles. The counterpart of neuro-sdk's `client.users`.
 *
 * @since 1.0.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type { ApiClient } from "./ApiClient.js"
import type { Config } from "./Config.js"
import type { ApiError, ConfigError, InvalidInputError } from "./Errors.js"
import * as internal from "./internal/users.js"

/**
 * @since 1.0.0
 * @category tags
 */
export class Users extends Context.Tag("@neuro-sdk/core/Users")<Users, Users.Service>() {}

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

/**
 * Everything a users call can fail with.
 *
 * @since 1.0.0
 * @category models
 */
export type UsersError = ApiError | ConfigError | InvalidInputError

/**
 * Which permissions a listing returns: one scheme (`"storage"`, same as `uri: "storage:"`), or
 * those at or below a URI. The filter is sent as given (not normalized), as neuro-sdk does.
 *
 * @since 1.0.0
 * @category models
 */
export interface AclFilter {
  readonly scheme?: string | undefined
  readonly uri?: URL | string | undefined
}

/**
 * @since 1.0.0
 */
export declare namespace Users {
  /**
   * @since 1.0.0
   * @category models
   */
  export interface Service {
    /**
     * Permissions of a user or role (`alice`, `alice/service-accounts/ci`), its implicit ones
     * (own resources) included. A string second argument is a scheme filter.
     */
    readonly getAcl: (user: string, filter?: string | AclFilter) => Effect.Effect<ReadonlyArray<Permission>, UsersError>
    /** Permissions that other users and roles hold on resources of `user`. */
    readonly getShares: (user: string, filter?: string | AclFilter) => Effect.Effect<ReadonlyArray<Share>, UsersError>
    /** Names of the roles below a user or role (service accounts, `alice/roles/...`). */
    readonly getSubroles: (user: string) => Effect.Effect<ReadonlyArray<string>, UsersError>
    /**
     * Give `user` an action on a URI; returns the permission the user now has on it (a higher
     * one they already had wins). Short URIs (`storage:data`, `secret:key`) are normalized
     * against the current user, cluster and org first.
     */
    readonly share: (
      user: string,
      permission: Permission | { readonly uri: URL | string; readonly action: Action }
    ) => Effect.Effect<Permission, UsersError>
    /** Take back the permission `user` has on exactly this URI (normalized like `share`). */
    readonly revoke: (user: string, uri: URL | string) => Effect.Effect<void, UsersError>
    /** Create a role (`alice/roles/team`). */
    readonly add: (roleName: string) => Effect.Effect<void, UsersError>
    /** Delete a role. */
    readonly remove: (roleName: string) => Effect.Effect<void, UsersError>
  }
}

/**
 * @since 1.0.0
 * @category constructors
 */
export const make: Effect.Effect<Users.Service, never, ApiClient | Config> = internal.make

/**
 * @since 1.0.0
 * @category layers
 */
export const layer: Layer.Layer<Users, never, ApiClient | Config> = Layer.effect(Users, make)
