/**
 * HTTP client of the registry REST API (what `wattflow models …` and `wattflow train
 * --register` use). Errors from the registry become RegistryClientError with the API's code
 * and message; an unreachable registry says so with the URL. Every request carries the bearer
 * token given, else WATTFLOW_TOKEN / auth.clientToken (src/core/auth.ts); a 401/403 says which
 * variable to set.
 */
import { clientAuthHeaders, clientToken, tokenHint } from '../core/auth.js';
import type { ModelMetadata } from '../ml/onnx/metadata.js';
import type { StatusReport, ModelSummary } from './registry.js';
import type { ModelRecord, VersionRecord } from './catalog.js';

export const DEFAULT_REGISTRY_URL = 'http://127.0.0.1:8000';

export class RegistryClientError extends Error {
  override readonly name = 'RegistryClientError';
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
  }
}

export interface ScopeArgs {
  routers?: string[];
  router_type?: string;
  all?: boolean;
}

export type PublicTarget =
  | { kind: 'dummy' }
  | { kind: 'model'; model: string; version: string; ref: string; alias?: string; sha256: string; size: number; artifact_uri: string; model_type: string; router_type: string };

export interface PublicRecord {
  id: string;
  scope: { kind: string; router?: string; router_type?: string };
  target: PublicTarget | null;
  deployed_at: string;
  previous?: PublicTarget | null;
}

export class RegistryClient {
  readonly baseUrl: string;

  constructor(
    baseUrl: string = DEFAULT_REGISTRY_URL,
    private readonly timeoutMs = 60_000,
    /** Bearer token (default: WATTFLOW_TOKEN / auth.clientToken). */
    private readonly token?: string,
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  private async request(method: string, path: string, body?: unknown): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: { ...clientAuthHeaders(this.token ?? clientToken()), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body !== undefined ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new RegistryClientError(
        `cannot reach the registry at ${this.baseUrl} (${cause?.code ?? cause?.message ?? (err as Error).message}); is \`wattflow registry\` or \`wattflow up\` running? (--registry URL)`,
        0,
        'UNREACHABLE',
      );
    }
    if (!res.ok) {
      const text = await res.text();
      let msg = text;
      let code = `HTTP_${res.status}`;
      try {
        const j = JSON.parse(text) as { error?: string; message?: string; code?: string };
        msg = j.error ?? j.message ?? text;
        code = j.code ?? code;
      } catch {
        // not JSON
      }
      if (res.status === 401 || res.status === 403) {
        throw new RegistryClientError(`the registry at ${this.baseUrl} refused the request (HTTP ${res.status}): ${msg || 'unauthorized'}; ${tokenHint(res.status)}`, res.status, res.status === 401 ? 'UNAUTHENTICATED' : 'FORBIDDEN');
      }
      throw new RegistryClientError(msg || `HTTP ${res.status}`, res.status, code);
    }
    return res;
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.request(method, path, body);
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  }

  private m(name: string): string {
    return `/api/registry/models/${encodeURIComponent(name)}`;
  }

  listModels(): Promise<ModelSummary[]> {
    return this.json<{ models: ModelSummary[] }>('GET', '/api/registry/models').then((r) => r.models);
  }

  createModel(name: string, opts: { description?: string; router_type?: string } = {}): Promise<ModelRecord> {
    return this.json('POST', '/api/registry/models', { name, ...opts });
  }

  /** The model, or undefined when it does not exist. */
  async getModel(name: string): Promise<ModelSummary | undefined> {
    try {
      return await this.json<ModelSummary>('GET', this.m(name));
    } catch (err) {
      if (err instanceof RegistryClientError && err.status === 404) return undefined;
      throw err;
    }
  }

  deleteModel(name: string): Promise<void> {
    return this.json('DELETE', this.m(name));
  }

  upload(
    name: string,
    onnx: Uint8Array,
    opts: { metadata?: unknown; version?: string; alias?: string; router_type?: string; model_type?: string; features?: string; source?: string; description?: string } = {},
  ): Promise<VersionRecord> {
    return this.json('POST', `${this.m(name)}/versions`, { onnx_base64: Buffer.from(onnx).toString('base64'), ...opts });
  }

  showVersion(name: string, ref: string): Promise<VersionRecord & { aliases: string[] }> {
    return this.json('GET', `${this.m(name)}/versions/${encodeURIComponent(ref)}`);
  }

  async download(name: string, ref: string): Promise<{ bytes: Uint8Array; sha256: string; version: string; metadata: ModelMetadata }> {
    const res = await this.request('GET', `${this.m(name)}/versions/${encodeURIComponent(ref)}/artifact`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const version = res.headers.get('x-wattflow-version') ?? ref;
    const metadata = await this.json<ModelMetadata>('GET', `${this.m(name)}/versions/${encodeURIComponent(version)}/metadata`);
    return { bytes, sha256: res.headers.get('x-wattflow-sha256') ?? '', version, metadata };
  }

  deleteVersion(name: string, version: string): Promise<{ deleted: string; removed_aliases: string[] }> {
    return this.json('DELETE', `${this.m(name)}/versions/${encodeURIComponent(version)}`);
  }

  setAlias(name: string, alias: string, version: string): Promise<{ redeployed: string[] }> {
    return this.json('PUT', `${this.m(name)}/aliases/${encodeURIComponent(alias)}`, { version });
  }

  unsetAlias(name: string, alias: string): Promise<void> {
    return this.json('DELETE', `${this.m(name)}/aliases/${encodeURIComponent(alias)}`);
  }

  deployments(): Promise<PublicRecord[]> {
    return this.json<{ deployments: PublicRecord[] }>('GET', '/api/registry/deployments').then((r) => r.deployments);
  }

  deploy(body: ScopeArgs & { ref?: string; dummy?: boolean; force?: boolean; exclusive?: boolean }): Promise<PublicRecord[]> {
    return this.json<{ deployments: PublicRecord[] }>('POST', '/api/registry/deployments', body).then((r) => r.deployments);
  }

  undeploy(scope: ScopeArgs): Promise<PublicRecord[]> {
    return this.json<{ deployments: PublicRecord[] }>('POST', '/api/registry/deployments/undeploy', scope).then((r) => r.deployments);
  }

  rollback(scope: ScopeArgs): Promise<PublicRecord[]> {
    return this.json<{ deployments: PublicRecord[] }>('POST', '/api/registry/deployments/rollback', scope).then((r) => r.deployments);
  }

  status(): Promise<StatusReport> {
    return this.json('GET', '/api/registry/status');
  }
}
