/**
 * Schema validation as the API server would do it, offline.
 *
 * Custom resources (Argo Rollouts, Istio, prometheus-operator, Argo CD) are checked against the
 * `openAPIV3Schema` of their CRDs, and built-in kinds against the Kubernetes API's own OpenAPI v3
 * documents; both come from the Go module proxy through scripts/fetch-schemas.sh (nothing is
 * committed). A CRD's API server silently prunes fields its schema does not list, and
 * `kubectl apply` refuses (or warns about) unknown fields of built-in kinds: either way a
 * misspelt or misplaced field never takes effect, so here every unlisted field is an error
 * (`additionalProperties: false` wherever the schema neither lists it nor carries
 * `x-kubernetes-preserve-unknown-fields`). Object metadata, which the API server validates as
 * ObjectMeta whatever the CRD says, is checked against ObjectMeta.
 */

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { parseAllDocuments } from 'yaml';
import { REPO, type K8sObject } from './files.js';

type Schema = Record<string, unknown>;

export interface SchemaSources {
  readonly versions: Record<string, string>;
  readonly crdFiles: readonly string[];
  readonly kubernetesOpenAPIDir: string;
}

export function fetchSchemaSources(): SchemaSources {
  const out = execFileSync('bash', [join(REPO, 'scripts/fetch-schemas.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out) as SchemaSources;
}

const isObj = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Deep copy of a structural schema with unknown fields made errors: a node that lists
 * `properties` (or is a bare `type: object` in a CRD) and has neither `additionalProperties`
 * nor `x-kubernetes-preserve-unknown-fields` gets `additionalProperties: false`.
 * Embedded resources keep apiVersion/kind/metadata, which Kubernetes allows there implicitly.
 */
export function strictify(node: unknown, opts: { bareObjectsClosed: boolean }): unknown {
  if (Array.isArray(node)) return node.map((n) => strictify(n, opts));
  if (!isObj(node)) return node;
  const out: Schema = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'properties' && isObj(v)) {
      out[k] = Object.fromEntries(Object.entries(v).map(([p, s]) => [p, strictify(s, opts)]));
    } else if (k === 'enum' || k === 'default' || k === 'example' || k === 'required') {
      out[k] = v;
    } else {
      out[k] = strictify(v, opts);
    }
  }
  const preserve = node['x-kubernetes-preserve-unknown-fields'] === true;
  const hasProps = isObj(node['properties']);
  const bareObject = node['type'] === 'object' && !hasProps && !('additionalProperties' in node);
  if (
    !preserve &&
    !('additionalProperties' in node) &&
    (hasProps || (opts.bareObjectsClosed && bareObject))
  ) {
    if (node['x-kubernetes-embedded-resource'] === true) {
      const props = (out['properties'] ?? {}) as Schema;
      out['properties'] = {
        apiVersion: { type: 'string' },
        kind: { type: 'string' },
        metadata: { type: 'object' },
        ...props,
      };
    }
    out['additionalProperties'] = false;
  }
  return out;
}

/**
 * CRD patterns are Go (RE2) regular expressions, as the API server evaluates them; the one RE2
 * construct they use that JavaScript lacks is an inline flag such as `(?i)` at the start (or
 * right after `^`: prometheus-operator's PrometheusRule), which becomes the JavaScript flag.
 */
export function goPattern(pattern: string, flags: string): RegExp {
  const inline = /^(\^?)\(\?([imsU]+)\)/.exec(pattern);
  if (inline === null) return new RegExp(pattern, flags);
  const goFlags = inline[2] as string;
  if (goFlags.includes('U'))
    throw new Error(`pattern ${pattern}: RE2's ungreedy flag has no JavaScript equivalent`);
  return new RegExp(`${inline[1] as string}${pattern.slice(inline[0].length)}`, flags + goFlags);
}

function newAjv(): Ajv {
  const ajv = new Ajv({
    strict: false,
    allErrors: true,
    validateSchema: false,
    // `code` names the function in standalone code, which these tests never generate.
    code: { regExp: Object.assign(goPattern, { code: 'goPattern' }) },
  });
  const addFormats = addFormatsModule as unknown as (a: Ajv) => Ajv;
  addFormats(ajv);
  // Kubernetes' numeric and opaque formats: the JSON type already says what matters.
  for (const f of ['int32', 'int64', 'float', 'double', 'byte', 'int-or-string', 'quantity'])
    ajv.addFormat(f, true);
  return ajv;
}

function gvkKey(apiVersion: string, kind: string): string {
  return `${apiVersion}/${kind}`;
}

export interface ValidationProblem {
  readonly path: string;
  readonly message: string;
}

function describe(errors: readonly ErrorObject[] | null | undefined): ValidationProblem[] {
  if (!errors) return [];
  const problems = errors.map((e) => {
    if (e.keyword === 'additionalProperties') {
      const extra = String((e.params as { additionalProperty?: unknown }).additionalProperty);
      return {
        path: `${e.instancePath}/${extra}`,
        message: `unknown field "${extra}" (the API server would drop or refuse it)`,
      };
    }
    return { path: e.instancePath || '/', message: `${e.message ?? e.keyword} ${JSON.stringify(e.params)}` };
  });
  // anyOf/oneOf branches repeat themselves; keep each problem once.
  const seen = new Set<string>();
  return problems.filter((p) => {
    const k = `${p.path} ${p.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export class SchemaRegistry {
  private readonly ajv = newAjv();
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly crdKinds = new Map<string, Schema>();
  private readonly notServed = new Set<string>();
  private readonly openapiDocsLoaded = new Set<string>();
  private objectMeta: ValidateFunction | undefined;

  constructor(private readonly sources: SchemaSources) {
    for (const file of sources.crdFiles) {
      const docs = parseAllDocuments(readFileSync(file, 'utf8'));
      for (const d of Array.isArray(docs) ? docs : [docs]) {
        const crd = d.toJS() as Schema | null;
        if (!isObj(crd) || crd['kind'] !== 'CustomResourceDefinition') continue;
        const spec = crd['spec'] as { group: string; names: { kind: string }; versions: Schema[] };
        for (const v of spec.versions) {
          const key = gvkKey(`${spec.group}/${String(v['name'])}`, spec.names.kind);
          if (v['served'] !== true) {
            this.notServed.add(key);
            continue;
          }
          const schema = (v['schema'] as Schema | undefined)?.['openAPIV3Schema'];
          if (isObj(schema)) this.crdKinds.set(key, schema);
        }
      }
    }
  }

  /** Kubernetes OpenAPI v3 document that describes an apiVersion of a built-in group. */
  private openapiFile(apiVersion: string): string {
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
    const name = group === '' ? `api__${version}_openapi.json` : `apis__${group}__${version}_openapi.json`;
    return join(this.sources.kubernetesOpenAPIDir, name);
  }

  private loadOpenAPI(apiVersion: string): string {
    const file = this.openapiFile(apiVersion);
    if (!this.openapiDocsLoaded.has(file)) {
      let doc: { components: { schemas: Record<string, Schema> } };
      try {
        doc = JSON.parse(readFileSync(file, 'utf8')) as typeof doc;
      } catch {
        throw new Error(`no Kubernetes OpenAPI document for ${apiVersion} (${file})`);
      }
      const schemas = strictify(doc.components.schemas, { bareObjectsClosed: false }) as Record<
        string,
        Schema
      >;
      this.ajv.addSchema({ $id: file, components: { schemas } });
      this.openapiDocsLoaded.add(file);
      for (const [name, s] of Object.entries(doc.components.schemas)) {
        const gvks = s['x-kubernetes-group-version-kind'] as
          { group: string; version: string; kind: string }[] | undefined;
        for (const g of gvks ?? []) {
          const av = g.group === '' ? g.version : `${g.group}/${g.version}`;
          const key = gvkKey(av, g.kind);
          if (av === apiVersion && !this.validators.has(key)) {
            this.validators.set(key, this.ajv.compile({ $ref: `${file}#/components/schemas/${name}` }));
          }
        }
      }
    }
    return file;
  }

  private metaValidator(): ValidateFunction {
    if (this.objectMeta === undefined) {
      const file = this.loadOpenAPI('v1');
      this.objectMeta = this.ajv.compile({
        $ref: `${file}#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta`,
      });
    }
    return this.objectMeta;
  }

  /** Which schema an object is checked against ("crd" or "kubernetes"); throws when none. */
  sourceOf(o: Pick<K8sObject, 'apiVersion' | 'kind'>): 'crd' | 'kubernetes' {
    const key = gvkKey(o.apiVersion, o.kind);
    if (this.crdKinds.has(key)) return 'crd';
    if (this.notServed.has(key)) throw new Error(`${key} is not served by its CRD`);
    const group = o.apiVersion.includes('/') ? (o.apiVersion.split('/')[0] ?? '') : '';
    if (group === '' || group.endsWith('.k8s.io') || !group.includes('.')) {
      this.loadOpenAPI(o.apiVersion);
      if (this.validators.has(key)) return 'kubernetes';
    }
    throw new Error(`no schema known for ${key}`);
  }

  validate(o: K8sObject): ValidationProblem[] {
    const key = gvkKey(o.apiVersion, o.kind);
    const source = this.sourceOf(o);
    const problems: ValidationProblem[] = [];
    if (source === 'crd') {
      let v = this.validators.get(key);
      if (v === undefined) {
        const schema = strictify(this.crdKinds.get(key), { bareObjectsClosed: true }) as Schema;
        // The API server takes apiVersion and kind at the root of every object and validates
        // metadata as ObjectMeta, whatever the CRD's schema says about them.
        const props = {
          apiVersion: { type: 'string' },
          kind: { type: 'string' },
          ...(schema['properties'] as Schema),
          metadata: true,
        };
        v = this.ajv.compile({ ...schema, properties: props });
        this.validators.set(key, v);
      }
      if (!v(o)) problems.push(...describe(v.errors));
      const meta = this.metaValidator();
      if (!meta(o.metadata))
        problems.push(...describe(meta.errors).map((p) => ({ ...p, path: `/metadata${p.path}` })));
    } else {
      const v = this.validators.get(key) as ValidateFunction;
      if (!v(o)) problems.push(...describe(v.errors));
    }
    return problems;
  }
}

/** kubernetes-models classes for the built-in kinds the manifests use. */
export const MODELS: Record<string, string> = {
  'v1/Namespace': 'kubernetes-models/v1/Namespace',
  'v1/ServiceAccount': 'kubernetes-models/v1/ServiceAccount',
  'v1/Service': 'kubernetes-models/v1/Service',
  'v1/Secret': 'kubernetes-models/v1/Secret',
  'v1/ConfigMap': 'kubernetes-models/v1/ConfigMap',
  'apps/v1/Deployment': 'kubernetes-models/apps/v1/Deployment',
  'policy/v1/PodDisruptionBudget': 'kubernetes-models/policy/v1/PodDisruptionBudget',
  'networking.k8s.io/v1/NetworkPolicy': 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy',
  'autoscaling/v2/HorizontalPodAutoscaler': 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler',
};

/** Validates a built-in object with its kubernetes-models class (a second, independent check). */
export async function validateWithModel(o: K8sObject): Promise<void> {
  const spec = MODELS[`${o.apiVersion}/${o.kind}`];
  if (spec === undefined) throw new Error(`no kubernetes-models class mapped for ${o.apiVersion} ${o.kind}`);
  const mod = (await import(spec)) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = mod[o.kind];
  if (Model === undefined) throw new Error(`${spec} exports no ${o.kind}`);
  new Model(o).validate();
}
