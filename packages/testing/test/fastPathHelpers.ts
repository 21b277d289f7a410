/**
 * SDK clients for the transfer tests, logged in by token at any API URL (config in memory): with
 * the Node fast path of transfers (`NodeTransferIO` + `NodeLocalFiles`, as `NeuroNode.layer`
 * provides them) or over `ApiClient` only, and with the file services the test chooses.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import type * as FileSystem from "@effect/platform/FileSystem"
import { Factory, NeuroClient, Session } from "@neuro-sdk/core"
import type * as LocalFiles from "@neuro-sdk/core/LocalFiles"
import * as NodeHttp from "@neuro-sdk/node/NodeHttp"
import * as NodeLocalFiles from "@neuro-sdk/node/NodeLocalFiles"
import * as NodeLogin from "@neuro-sdk/node/NodeLogin"
import * as NodeTransferIO from "@neuro-sdk/node/NodeTransferIO"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as MemoryConfigStore from "../src/MemoryConfigStore.js"
import * as TestBrowser from "../src/TestBrowser.js"

export interface ClientOptions {
  /** The Node fast path (default true). */
  readonly fast?: boolean | undefined
  /** `FileSystem` (default `NodeFileSystem.layer`). */
  readonly fileSystem?: Layer.Layer<FileSystem.FileSystem> | undefined
  /** `LocalFiles` of the fast path (default `NodeLocalFiles.layer`). */
  readonly localFiles?: Layer.Layer<LocalFiles.LocalFiles> | undefined
}

/** Every SDK service logged in at `apiUrl`. */
export const clientLayer = (apiUrl: URL, token: Redacted.Redacted<string>, options: ClientOptions = {}) => {
  const infra = Layer.mergeAll(MemoryConfigStore.layer(), NodeHttp.layer)
  const factory = Factory.layer.pipe(Layer.provide(Layer.mergeAll(infra, TestBrowser.layer, NodeLogin.layerCallbackServer)))
  const loggedIn = Layer.provideMerge(
    Layer.effectDiscard(Effect.flatMap(Factory.Factory, (f) => f.loginWithToken(token, { url: apiUrl }))),
    Layer.merge(infra, factory)
  )
  const session = Layer.provideMerge(Session.layerWith(Effect.succeed({})), loggedIn)
  const files = Layer.mergeAll(options.fileSystem ?? NodeFileSystem.layer, NodePath.layer)
  const fast = options.fast === false ? Layer.empty : Layer.merge(NodeTransferIO.layer(), options.localFiles ?? NodeLocalFiles.layer)
  return Layer.orDie(Layer.provideMerge(NeuroClient.layer(), Layer.mergeAll(session, files, fast)))
}
