/**
 * The `Users` subsystem: permissions (ACL) of users and roles, sharing and revoking access to
 * resources, and roles. The counterpart of neuro-sdk's `client.users`.
 *
 * @since 1.0.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { ApiClient } from "./ApiClient.js"
import type { Config } from "./Config.js"
import type { ApiError, ConfigError, InvalidInputError } from "./Errors.js"
import * as internal from "./internal/users.js"
import type { Action, Permission, Share } from "./internal/usersModels.js"

// The models are declared in `internal/usersModels.ts`, which the implementation imports instead
// of this module (no import cycle).
export { Action, ActionSchema, Permission, Share } from "./internal/usersModels.js"

/**
 * @since 1.0.0
 * @category tags
 */
export class Users extends Context.Tag("@neuro-sdk/core/Users")<Users, Users.Service>() {}

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
