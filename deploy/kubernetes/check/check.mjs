#!/usr/bin/env node
// Offline check of mcval's Kubernetes manifests (docs/deployment.md, "Checking the manifests").
//
//   node check.mjs [--kubectl PATH] [--require-digest] [--production] KUSTOMIZATION_DIR...
//   node check.mjs                       # every overlay under ../overlays, and ../cluster/*
//
// For each kustomization: `kubectl kustomize` renders it; every object is validated against
// the Kubernetes OpenAPI schemas (npm kubernetes-models), or, for the custom resources mcval
// uses (CloudNativePG, Kueue), against the shapes below; every rule of Monokle's Pod Security
// Standards and best-practices plugins (npm @monokle/validation) runs as an error; then mcval's
// own rules (below) run. A directory named `production` (or --production) is held to the
// production rules: images by digest, TLS to the database verified, every Job queued by Kueue.
// The rules that relate objects of several kustomizations (a Job and the ClusterQueue its
// LocalQueue submits to) look at every directory of the run. Nothing is fetched: only the two bundled plugins are loaded, and any
// attempt to reach the network fails the check. Exit status 0 when everything passes, 1 when a
// rule fails (each failure one line: "dir: Kind/name: [rule] message"), 2 on a usage error.
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import YAML from 'yaml';

const here = path.dirname(fileURLToPath(import.meta.url));

// Nothing in this check may reach the network: a plugin that tried would be a silent gap.
const refuseNetwork = async (url) => {
  throw new Error(`network access refused (offline check): ${url}`);
};
globalThis.fetch = refuseNetwork;

const { MonokleValidator, DefaultPluginLoader, ResourceParser, DisabledFixer } = await import('@monokle/validation');

function usage(message) {
  console.error(`check: ${message}`);
  console.error('usage: node check.mjs [--kubectl PATH] [--require-digest] [--production] [KUSTOMIZATION_DIR...]');
  process.exit(2);
}

function parseArguments(argv) {
  const options = { kubectl: process.env.KUBECTL || 'kubectl', requireDigest: false, production: false, dirs: [] };
  for (let i = 0; i < argv.length; ++i) {
    const arg = argv[i];
    if (arg === '--kubectl') {
      if (i + 1 >= argv.length) usage('--kubectl needs a path');
      options.kubectl = argv[++i];
    } else if (arg === '--require-digest') {
      options.requireDigest = true;
    } else if (arg === '--production') {
      options.production = true;
    } else if (arg.startsWith('-')) {
      usage(`unknown option ${arg}`);
    } else {
      options.dirs.push(arg);
    }
  }
  if (options.dirs.length === 0) {
    for (const parent of ['overlays', 'cluster']) {
      const folder = path.join(here, '..', parent);
      options.dirs.push(...readdirSync(folder)
        .map((name) => path.join(folder, name))
        .filter((dir) => statSync(dir).isDirectory())
        .sort());
    }
  }
  return options;
}

/** The objects `kubectl kustomize DIR` renders. */
function render(kubectl, dir) {
  const text = execFileSync(kubectl, ['kustomize', dir], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 << 20,
  });
  return YAML.parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`kustomize output is not YAML: ${doc.errors[0].message}`);
      return doc.toJSON();
    })
    .filter((object) => object !== null);
}

const label = (object) => `${object?.kind ?? '?'}/${object?.metadata?.name ?? '?'}`;

// ---------------------------------------------------------------------------------------------
// Kubernetes schemas (kubernetes-models: the OpenAPI schemas of the API server, compiled).

async function schemaFailures(objects) {
  const failures = [];
  for (const object of objects) {
    const apiVersion = object.apiVersion ?? '';
    const custom = CUSTOM_RESOURCES[`${apiVersion}/${object.kind}`];
    if (custom) {
      for (const message of shapeFailures(object, custom, '')) failures.push({ object, rule: 'schema', message });
      continue;
    }
    const group = apiVersion.includes('/') ? apiVersion : `v1`;
    let module;
    try {
      module = await import(`kubernetes-models/${group}`);
    } catch {
      failures.push({ object, rule: 'schema', message: `unknown apiVersion ${apiVersion}` });
      continue;
    }
    const Model = module[object.kind];
    if (!Model) {
      failures.push({ object, rule: 'schema', message: `unknown kind ${object.kind} in ${apiVersion}` });
      continue;
    }
    try {
      new Model(object).validate();
    } catch (error) {
      const details = error.errors ?? [];
      if (details.length === 0) {
        failures.push({ object, rule: 'schema', message: String(error.message ?? error) });
      }
      for (const detail of details) {
        const where = detail.instancePath || detail.dataPath || '';
        failures.push({ object, rule: 'schema', message: `${where || '(object)'} ${detail.message}` });
      }
    }
  }
  return failures;
}

// ---------------------------------------------------------------------------------------------
// The custom resources mcval's manifests use: the fields of their CRDs that the manifests set
// (names as in the CloudNativePG and Kueue API references), so that a misspelt field or a wrong
// type fails here rather than being pruned by the API server. Objects that are `closed` take no
// field outside `fields`.

const aString = { type: 'string' };
const integer = { type: 'integer' };
const boolean = { type: 'boolean' };
const quantity = { type: 'quantity' };
const stringMap = { type: 'map', values: aString };
const anything = { type: 'any' };
const record = (fields, { required = [], closed = true } = {}) => ({ type: 'object', fields, required, closed });
const list = (items) => ({ type: 'array', items });
const oneOf = (...values) => ({ type: 'string', values });
const metadata = record({ name: aString, namespace: aString, labels: stringMap, annotations: stringMap }, { required: ['name'], closed: false });
const resource = (kind, spec, { apiVersion, requiredSpec = true }) =>
  record({ apiVersion: aString, kind: aString, metadata, spec }, { required: ['apiVersion', 'kind', 'metadata', ...(requiredSpec ? ['spec'] : [])] });
const resourceRequirements = record({ requests: { type: 'map', values: quantity }, limits: { type: 'map', values: quantity } });
const labelSelector = record({ matchLabels: stringMap, matchExpressions: list(anything) });

const CNPG = 'postgresql.cnpg.io/v1';
const KUEUE = 'kueue.x-k8s.io/v1beta1';
const CUSTOM_RESOURCES = {
  [`${CNPG}/Cluster`]: resource('Cluster', record({
    instances: integer,
    imageName: aString,
    primaryUpdateStrategy: oneOf('unsupervised', 'supervised'),
    primaryUpdateMethod: oneOf('switchover', 'restart'),
    enableSuperuserAccess: boolean,
    description: aString,
    bootstrap: record({
      initdb: record({ database: aString, owner: aString, secret: record({ name: aString }, { required: ['name'] }),
        encoding: aString, localeCollate: aString, localeCType: aString, dataChecksums: boolean,
        postInitSQL: list(aString), postInitApplicationSQL: list(aString) }),
      recovery: anything,
      pg_basebackup: anything,
    }),
    storage: record({ size: quantity, storageClass: aString, resizeInUseVolumes: boolean, pvcTemplate: anything }),
    walStorage: record({ size: quantity, storageClass: aString, resizeInUseVolumes: boolean, pvcTemplate: anything }),
    postgresql: record({ parameters: stringMap, pg_hba: list(aString), pg_ident: list(aString),
      shared_preload_libraries: list(aString), synchronous: anything }),
    certificates: record({ serverCASecret: aString, serverTLSSecret: aString, replicationTLSSecret: aString,
      clientCASecret: aString, serverAltDNSNames: list(aString) }),
    affinity: record({ enablePodAntiAffinity: boolean, podAntiAffinityType: oneOf('preferred', 'required'),
      topologyKey: aString, nodeSelector: stringMap, tolerations: list(anything), nodeAffinity: anything,
      additionalPodAffinity: anything, additionalPodAntiAffinity: anything }),
    resources: resourceRequirements,
    monitoring: record({ enablePodMonitor: boolean, customQueriesConfigMap: list(anything),
      customQueriesSecret: list(anything), disableDefaultQueries: boolean }),
    backup: anything,
    externalClusters: list(anything),
    managed: anything,
    inheritedMetadata: record({ labels: stringMap, annotations: stringMap }),
    minSyncReplicas: integer,
    maxSyncReplicas: integer,
    priorityClassName: aString,
    topologySpreadConstraints: list(anything),
    enablePDB: boolean,
  }, { required: ['instances', 'storage'] }), { apiVersion: CNPG }),
  [`${CNPG}/Pooler`]: resource('Pooler', record({
    cluster: record({ name: aString }, { required: ['name'] }),
    type: oneOf('rw', 'ro', 'r'),
    instances: integer,
    pgbouncer: record({
      poolMode: oneOf('session', 'transaction'),
      parameters: stringMap,
      pg_hba: list(aString),
      paused: boolean,
      authQuerySecret: record({ name: aString }, { required: ['name'] }),
      authQuery: aString,
    }, { required: ['poolMode'] }),
    template: record({ metadata: record({ labels: stringMap, annotations: stringMap }), spec: record({
      containers: list(record({ name: aString, image: aString, resources: resourceRequirements }, { required: ['name'], closed: false })),
    }, { required: ['containers'], closed: false }) }),
    monitoring: record({ enablePodMonitor: boolean }),
    deploymentStrategy: anything,
    serviceTemplate: anything,
  }, { required: ['cluster', 'pgbouncer'] }), { apiVersion: CNPG }),
  [`${KUEUE}/ResourceFlavor`]: resource('ResourceFlavor', record({
    nodeLabels: stringMap, nodeTaints: list(anything), tolerations: list(anything), topologyName: aString,
  }), { apiVersion: KUEUE, requiredSpec: false }),
  [`${KUEUE}/ClusterQueue`]: resource('ClusterQueue', record({
    namespaceSelector: labelSelector,
    queueingStrategy: oneOf('BestEffortFIFO', 'StrictFIFO'),
    cohort: aString,
    resourceGroups: list(record({
      coveredResources: list(aString),
      flavors: list(record({
        name: aString,
        resources: list(record({ name: aString, nominalQuota: quantity, borrowingLimit: quantity, lendingLimit: quantity },
          { required: ['name', 'nominalQuota'] })),
      }, { required: ['name', 'resources'] })),
    }, { required: ['coveredResources', 'flavors'] })),
    preemption: anything,
    flavorFungibility: anything,
    stopPolicy: oneOf('None', 'Hold', 'HoldAndDrain'),
    fairSharing: anything,
    admissionChecks: list(aString),
  }, { required: ['resourceGroups'] }), { apiVersion: KUEUE }),
  [`${KUEUE}/LocalQueue`]: resource('LocalQueue', record({
    clusterQueue: aString,
    stopPolicy: oneOf('None', 'Hold', 'HoldAndDrain'),
  }, { required: ['clusterQueue'] }), { apiVersion: KUEUE }),
};

/** What in `value` does not fit `shape`, one message per misfit ("/spec/x: ..."). */
function shapeFailures(value, shape, where) {
  const at = where || '(object)';
  switch (shape.type) {
    case 'any':
      return [];
    case 'string':
      if (typeof value !== 'string') return [`${at} must be a string`];
      if (shape.values && !shape.values.includes(value)) return [`${at} must be one of ${shape.values.join(', ')}`];
      return [];
    case 'integer':
      return Number.isInteger(value) ? [] : [`${at} must be an integer`];
    case 'boolean':
      return typeof value === 'boolean' ? [] : [`${at} must be a boolean`];
    case 'quantity':
      return (typeof value === 'number' || (typeof value === 'string' && Number.isFinite(quantityBytes(value))))
        ? [] : [`${at} must be a quantity`];
    case 'array':
      if (!Array.isArray(value)) return [`${at} must be an array`];
      return value.flatMap((item, i) => shapeFailures(item, shape.items, `${where}/${i}`));
    case 'map':
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return [`${at} must be an object`];
      return Object.entries(value).flatMap(([key, item]) => shapeFailures(item, shape.values, `${where}/${key}`));
    case 'object': {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return [`${at} must be an object`];
      const failures = [];
      for (const key of shape.required) {
        if (value[key] === undefined) failures.push(`${at} must have required property '${key}'`);
      }
      for (const [key, item] of Object.entries(value)) {
        const field = shape.fields[key];
        if (field) failures.push(...shapeFailures(item, field, `${where}/${key}`));
        else if (shape.closed) failures.push(`${where}/${key} is not a field of this object`);
      }
      return failures;
    }
    default:
      throw new Error(`unknown shape type ${shape.type}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Pod Security Standards and best practices (Monokle's bundled plugins, every rule an error).

const POLICY_PLUGINS = { 'pod-security-standards': true, practices: true };

function newValidator() {
  // DefaultPluginLoader knows only the bundled plugins: no remote plugin can be loaded.
  return new MonokleValidator({
    loader: new DefaultPluginLoader(),
    parser: new ResourceParser(),
    fixer: new DisabledFixer(),
    suppressors: [],
  });
}

let policyValidator;
async function policyRules() {
  if (policyValidator) return policyValidator;
  const probe = newValidator();
  await probe.preload({ plugins: POLICY_PLUGINS });
  const rules = {};
  for (const [plugin, pluginRules] of Object.entries(probe.rules)) {
    for (const rule of pluginRules) rules[`${plugin}/${rule.name}`] = 'err';
  }
  policyValidator = newValidator();
  await policyValidator.preload({ plugins: POLICY_PLUGINS, rules });
  const loaded = policyValidator.getPlugins().map((p) => p.metadata.name).sort();
  if (loaded.join() !== Object.keys(POLICY_PLUGINS).sort().join()) {
    throw new Error(`policy plugins not loaded: ${JSON.stringify(loaded)}`);
  }
  if (Object.keys(rules).length < 30) throw new Error(`only ${Object.keys(rules).length} policy rules found`);
  return policyValidator;
}

async function policyFailures(objects, dir) {
  const validator = await policyRules();
  const resources = objects.map((object, index) => {
    const text = YAML.stringify(object);
    return {
      id: `${index}`,
      fileId: `${index}`,
      filePath: `${dir}#${index}`,
      fileOffset: 0,
      name: object.metadata?.name ?? '',
      apiVersion: object.apiVersion ?? '',
      kind: object.kind ?? '',
      namespace: object.metadata?.namespace,
      content: object,
      text,
    };
  });
  const response = await validator.validate({ resources });
  const failures = [];
  for (const run of response.runs) {
    const rules = new Map();
    for (const extension of run.tool.extensions ?? []) {
      for (const rule of extension.rules ?? []) rules.set(rule.id, `${extension.name}/${rule.name}`);
    }
    for (const result of run.results) {
      const id = result.locations?.[1]?.logicalLocations?.[0]?.fullyQualifiedName ?? '';
      const index = Number(result.locations?.[0]?.physicalLocation?.artifactLocation?.uri?.split('#').pop());
      const object = Number.isInteger(index) ? objects[index] : { kind: '?', metadata: { name: id } };
      failures.push({
        object,
        rule: `${result.ruleId} ${rules.get(result.ruleId) ?? ''}`.trim(),
        message: result.message?.text ?? '',
      });
    }
  }
  return failures;
}

// ---------------------------------------------------------------------------------------------
// mcval's own rules: what the issue and docs/deployment.md promise, beyond the generic rules.

/** [pod spec, where] of every object that holds a pod template. */
function podSpecs(object) {
  switch (object.kind) {
    case 'Pod':
      return [[object.spec, 'spec']];
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'ReplicaSet':
    case 'Job':
      return [[object.spec?.template?.spec, 'spec.template.spec']];
    case 'CronJob':
      return [[object.spec?.jobTemplate?.spec?.template?.spec, 'spec.jobTemplate.spec.template.spec']];
    default:
      return [];
  }
}

const NFS_OPTIONS = ['nfsvers=4.1', 'hard', 'nosuid', 'nodev'];
const RESOURCES = ['cpu', 'memory', 'ephemeral-storage'];

function quantityBytes(q) {
  const m = /^([0-9.]+)([EPTGMK]i?|[numk])?$/.exec(String(q ?? ''));
  if (!m) return NaN;
  const units = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
    n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
  return Number(m[1]) * (units[m[2]] ?? 1);
}

function mcvalFailures(objects, { requireDigest, production }) {
  const failures = [];
  const fail = (object, rule, message) => failures.push({ object, rule: `mcval/${rule}`, message });

  // A kustomization of cluster-scoped objects only (cluster/kueue/) has no namespace to guard.
  const namespaced = objects.some((o) => o.metadata?.namespace !== undefined || podSpecs(o).length > 0);
  const namespaces = objects.filter((o) => o.kind === 'Namespace');
  if (namespaced && namespaces.length === 0) fail({ kind: 'Namespace' }, 'namespace-restricted', 'no Namespace is rendered');
  for (const ns of namespaces) {
    for (const mode of ['enforce', 'audit', 'warn']) {
      const value = ns.metadata?.labels?.[`pod-security.kubernetes.io/${mode}`];
      if (value !== 'restricted') {
        fail(ns, 'namespace-restricted', `label pod-security.kubernetes.io/${mode} is ${value ?? 'missing'}, not restricted`);
      }
    }
  }

  const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
  const denyAll = policies.some((p) => Object.keys(p.spec?.podSelector ?? {}).length === 0 &&
    ['Ingress', 'Egress'].every((t) => (p.spec?.policyTypes ?? []).includes(t)) &&
    !(p.spec?.ingress?.length) && !(p.spec?.egress?.length));
  if (namespaced && !denyAll) fail({ kind: 'NetworkPolicy' }, 'network-default-deny', 'no NetworkPolicy denies all ingress and egress');

  for (const sa of objects.filter((o) => o.kind === 'ServiceAccount')) {
    if (sa.automountServiceAccountToken !== false) fail(sa, 'no-service-account-token', 'automountServiceAccountToken is not false');
  }

  const claims = new Map(objects.filter((o) => o.kind === 'PersistentVolumeClaim').map((c) => [c.metadata.name, c]));
  const volumes = new Map(objects.filter((o) => o.kind === 'PersistentVolume').map((v) => [v.metadata.name, v]));

  for (const object of objects) {
    for (const [pod, where] of podSpecs(object)) {
      if (!pod) continue;
      if (pod.automountServiceAccountToken !== false) fail(object, 'no-service-account-token', `${where}.automountServiceAccountToken is not false`);
      if (pod.securityContext?.fsGroup !== undefined) {
        fail(object, 'no-fsgroup', `${where}.securityContext.fsGroup is set: the NFS exports' owner is the pod's uid/gid, nothing is chowned`);
      }
      const uid = pod.securityContext?.runAsUser;
      const gid = pod.securityContext?.runAsGroup;
      if (!(uid > 0) || !(gid > 0)) fail(object, 'fixed-uid-gid', `${where}.securityContext needs non-zero runAsUser and runAsGroup`);
      const mountedVolumes = new Map((pod.volumes ?? []).map((v) => [v.name, v]));
      for (const volume of pod.volumes ?? []) {
        if (volume.nfs) fail(object, 'no-inline-nfs', `volume ${volume.name} is an inline nfs volume: use a PersistentVolume and a claim`);
        if (volume.emptyDir && !volume.emptyDir.sizeLimit) fail(object, 'emptydir-size-limit', `emptyDir ${volume.name} has no sizeLimit`);
        // Without fsGroup the kubelet writes Secret files as root: the pod's uid reads them only
        // through the "other" bits.
        const modes = [volume.secret?.defaultMode, volume.projected?.defaultMode,
          ...(volume.secret?.items ?? []).map((item) => item.mode),
          ...(volume.projected?.sources ?? []).flatMap((source) => (source.secret?.items ?? []).map((item) => item.mode))];
        if (pod.securityContext?.fsGroup === undefined && modes.some((mode) => mode !== undefined && (mode & 0o004) === 0)) {
          fail(object, 'secret-files-readable', `volume ${volume.name}: mode ${modes.filter((m) => m !== undefined).map((m) => '0' + m.toString(8)).join(', ')} leaves its files unreadable to the pod's uid (no fsGroup: they belong to root)`);
        }
        const claimName = volume.persistentVolumeClaim?.claimName;
        if (claimName && !claims.has(claimName)) fail(object, 'claim-exists', `volume ${volume.name} names claim ${claimName}, which is not rendered`);
      }
      for (const container of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) {
        const c = `container ${container.name}`;
        for (const kind of ['requests', 'limits']) {
          for (const resource of RESOURCES) {
            if (container.resources?.[kind]?.[resource] === undefined) fail(object, 'resources', `${c} has no ${kind}.${resource}`);
          }
        }
        if (container.securityContext?.readOnlyRootFilesystem !== true) fail(object, 'read-only-root', `${c} root filesystem is writable`);
        if (requireDigest && !/@sha256:[0-9a-f]{64}$/.test(container.image ?? '')) {
          fail(object, 'image-digest', `${c} image ${container.image} is not pinned by digest`);
        }
        failures.push(...databaseFailures(object, pod, container, objects, { production }));
        for (const mount of container.volumeMounts ?? []) {
          const volume = mountedVolumes.get(mount.name);
          const claim = claims.get(volume?.persistentVolumeClaim?.claimName);
          const readOnlyClaim = claim && (claim.spec?.accessModes ?? []).every((m) => m === 'ReadOnlyMany');
          if (readOnlyClaim && (mount.readOnly !== true || volume.persistentVolumeClaim.readOnly !== true)) {
            fail(object, 'read-only-slides', `${c} mounts the ReadOnlyMany claim ${claim.metadata.name} without readOnly`);
          }
        }
      }
      if (object.kind === 'Deployment') {
        for (const container of pod.containers ?? []) {
          const probes = ['startupProbe', 'readinessProbe', 'livenessProbe'];
          for (const probe of probes) {
            if (!container[probe]) fail(object, 'probes', `container ${container.name} has no ${probe}`);
          }
          if (container.readinessProbe?.httpGet?.path !== '/readyz') fail(object, 'probes', `container ${container.name} readinessProbe is not GET /readyz`);
          if (container.livenessProbe?.httpGet?.path !== '/healthz') fail(object, 'probes', `container ${container.name} livenessProbe is not GET /healthz`);
        }
      }
    }

    if (object.kind === 'Job' && object.spec?.completionMode === 'Indexed') {
      for (const container of object.spec.template?.spec?.containers ?? []) {
        const args = container.args ?? [];
        const at = args.indexOf('--shard');
        if (at < 0) continue;
        const count = Number(String(args[at + 1] ?? '').split('/')[1]);
        if (count !== object.spec.completions) {
          fail(object, 'shards-match-completions', `--shard ${args[at + 1]} names ${count} shards, completions is ${object.spec.completions}`);
        }
      }
    }
  }

  for (const cluster of objects.filter((o) => o.kind === 'Cluster' && o.apiVersion === CNPG)) {
    if (requireDigest && !/@sha256:[0-9a-f]{64}$/.test(cluster.spec?.imageName ?? '')) {
      fail(cluster, 'image-digest', `imageName ${cluster.spec?.imageName ?? '(the operator\'s default)'} is not pinned by digest`);
    }
  }
  failures.push(...sqliteFailures(objects));
  failures.push(...kueueFailures(objects, { production }));

  for (const claim of claims.values()) {
    const name = claim.spec?.volumeName;
    const volume = volumes.get(name);
    if (!volume) {
      fail(claim, 'claim-binds', `volumeName ${name ?? '(none)'} is no rendered PersistentVolume`);
      continue;
    }
    const ref = volume.spec?.claimRef ?? {};
    if (ref.name !== claim.metadata.name || ref.namespace !== claim.metadata.namespace) {
      fail(claim, 'claim-binds', `PersistentVolume ${name} is reserved for ${ref.namespace}/${ref.name}`);
    }
    for (const mode of claim.spec?.accessModes ?? []) {
      if (!(volume.spec?.accessModes ?? []).includes(mode)) fail(claim, 'claim-binds', `PersistentVolume ${name} lacks access mode ${mode}`);
    }
    if (quantityBytes(volume.spec?.capacity?.storage) < quantityBytes(claim.spec?.resources?.requests?.storage)) {
      fail(claim, 'claim-binds', `PersistentVolume ${name} is smaller than the claim's request`);
    }
    if ((claim.spec?.storageClassName ?? null) !== (volume.spec?.storageClassName ?? null)) {
      fail(claim, 'claim-binds', `storage class differs from PersistentVolume ${name}'s`);
    }
  }
  for (const volume of volumes.values()) {
    if (!volume.spec?.nfs) continue;
    const options = volume.spec.mountOptions ?? [];
    for (const option of NFS_OPTIONS) {
      if (!options.includes(option)) fail(volume, 'nfs-mount-options', `mountOptions lack ${option}`);
    }
    const readOnly = (volume.spec.accessModes ?? []).every((m) => m === 'ReadOnlyMany');
    if (readOnly && (!options.includes('ro') || volume.spec.nfs.readOnly !== true)) {
      fail(volume, 'nfs-mount-options', 'a ReadOnlyMany NFS volume must be mounted ro and nfs.readOnly');
    }
  }
  return failures;
}


// ---------------------------------------------------------------------------------------------
// The database (docs/deployment.md, "PostgreSQL"): a server without --database (or
// MCVAL_DATABASE) keeps its state in one SQLite file and must run alone; a PostgreSQL password is
// a file on a read-only Secret volume, never in the environment or an argument; production
// verifies the server's certificate; the NetworkPolicies let the pods reach the database.

/** The value a container gives the setting `name`: --name-with-dashes VALUE, --name=VALUE or
 *  the variable MCVAL_NAME (settings in the ConfigMap's file are not seen: give these two as
 *  flags or variables). */
function setting(container, name) {
  const flag = `--${name.replaceAll('_', '-')}`;
  const args = container.args ?? [];
  for (let i = 0; i < args.length; ++i) {
    if (args[i] === flag) return String(args[i + 1] ?? '');
    if (String(args[i]).startsWith(`${flag}=`)) return String(args[i]).slice(flag.length + 1);
  }
  const env = (container.env ?? []).find((e) => e.name === `MCVAL_${name.toUpperCase()}`);
  return env ? (env.value ?? '(a reference)') : undefined;
}

const isPostgresql = (url) => /^postgres(ql)?:\/\//.test(url ?? '');

function podTemplateLabels(object) {
  if (object.kind === 'Pod') return object.metadata?.labels ?? {};
  if (object.kind === 'CronJob') return object.spec?.jobTemplate?.spec?.template?.metadata?.labels ?? {};
  return object.spec?.template?.metadata?.labels ?? {};
}

/** The volume mount of `container` that holds `file`, with its volume. */
function mountOf(pod, container, file) {
  const mount = (container.volumeMounts ?? [])
    .filter((m) => file.startsWith(`${m.mountPath.replace(/\/$/, '')}/`))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  return mount && { mount, volume: (pod.volumes ?? []).find((v) => v.name === mount.name) };
}

const secretOnly = (volume) => Boolean(volume?.secret ||
  (volume?.projected && (volume.projected.sources ?? []).every((source) => source.secret)));

function databaseFailures(object, pod, container, objects, { production }) {
  const failures = [];
  const fail = (rule, message) => failures.push({ object, rule: `mcval/${rule}`, message });
  const c = `container ${container.name}`;

  for (const env of container.env ?? []) {
    if (/PASSWORD/i.test(env.name) && !/_FILE$/i.test(env.name)) {
      fail('database-password', `${c} env ${env.name}: a password is read from a file (--database-password-file), never from the environment`);
    }
    const ref = env.valueFrom?.secretKeyRef;
    if (ref) fail('database-password', `${c} env ${env.name} is Secret ${ref.name} key ${ref.key}: mount Secrets as files`);
  }
  for (const from of container.envFrom ?? []) {
    if (from.secretRef) fail('database-password', `${c} envFrom Secret ${from.secretRef.name}: mount Secrets as files`);
  }
  const values = [...(container.command ?? []), ...(container.args ?? []), ...(container.env ?? []).map((e) => e.value ?? '')];
  for (const value of values.map(String)) {
    if (/^[a-z][a-z0-9+.-]*:\/\/[^/@\s]*:[^/@\s]*@/i.test(value) || /[?&]password=/i.test(value)) {
      fail('database-password', `${c} has a password in a URL: give it as --database-password-file`);
    }
  }

  const database = setting(container, 'database');
  if (!isPostgresql(database)) return failures;
  let url;
  try {
    url = new URL(database);
  } catch {
    fail('database-url', `${c} --database ${database} is not a URL`);
    return failures;
  }
  const mounted = (file, what, rule) => {
    const found = mountOf(pod, container, file);
    if (!found?.volume) fail(rule, `${c} ${what} ${file} is on no mounted volume`);
    else if (found.mount.readOnly !== true || !secretOnly(found.volume)) {
      fail(rule, `${c} ${what} ${file} must be on a read-only Secret volume (volume ${found.volume.name})`);
    }
  };
  const passwordFile = setting(container, 'database_password_file');
  if (!passwordFile) fail('database-password-file', `${c} connects to ${url.hostname} without --database-password-file`);
  else mounted(passwordFile, '--database-password-file', 'database-password-file');

  const sslmode = url.searchParams.get('sslmode');
  if (production && sslmode !== 'verify-full') {
    fail('database-tls', `${c} connects with sslmode=${sslmode ?? '(none: prefer)'}: production verifies the server, sslmode=verify-full`);
  }
  if (sslmode === 'verify-full' || sslmode === 'verify-ca') {
    const root = url.searchParams.get('sslrootcert');
    if (!root) fail('database-tls', `${c} sslmode=${sslmode} without sslrootcert (the database's CA)`);
    else if (root !== 'system') mounted(root, 'sslrootcert', 'database-tls');
  }
  failures.push(...databaseNetworkFailures(object, url, objects));
  return failures;
}

// NetworkPolicy semantics, enough for the paths to the database: pod selectors (matchLabels and
// matchExpressions), namespace selectors on kubernetes.io/metadata.name and the rendered
// Namespaces' labels, numeric ports.

function selects(selector, labels) {
  if (!selector) return false;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, key);
    if (operator === 'In' && !(has && values.includes(labels[key]))) return false;
    if (operator === 'NotIn' && has && values.includes(labels[key])) return false;
    if (operator === 'Exists' && !has) return false;
    if (operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

function allows(objects, from, to, port) {
  const namespaceLabels = (ns) => ({
    'kubernetes.io/metadata.name': ns,
    ...(objects.find((o) => o.kind === 'Namespace' && o.metadata?.name === ns)?.metadata?.labels ?? {}),
  });
  const peerMatches = (peer, policyNamespace, pod) => {
    if (peer.ipBlock) return false;
    const inNamespace = peer.namespaceSelector ? selects(peer.namespaceSelector, namespaceLabels(pod.namespace))
      : pod.namespace === policyNamespace;
    return inNamespace && (!peer.podSelector || selects(peer.podSelector, pod.labels));
  };
  const portMatches = (ports) => !ports?.length || ports.some((p) =>
    (p.protocol ?? 'TCP') === 'TCP' && (p.port === undefined || p.port === port || (p.endPort && p.port <= port && port <= p.endPort)));
  const direction = (type, pod, other, rulesOf, peersOf) => {
    const policies = objects.filter((o) => o.kind === 'NetworkPolicy' &&
      (o.metadata?.namespace ?? pod.namespace) === pod.namespace &&
      (o.spec?.policyTypes ?? (type === 'Ingress' ? ['Ingress'] : o.spec?.egress ? ['Egress'] : [])).includes(type) &&
      selects(o.spec?.podSelector, pod.labels));
    if (policies.length === 0) return true;
    return policies.some((p) => (rulesOf(p) ?? []).some((rule) => portMatches(rule.ports) &&
      (!peersOf(rule)?.length || peersOf(rule).some((peer) => peerMatches(peer, p.metadata?.namespace ?? pod.namespace, other)))));
  };
  return direction('Egress', from, to, (p) => p.spec?.egress, (r) => r.to) &&
    direction('Ingress', to, from, (p) => p.spec?.ingress, (r) => r.from);
}

function databaseNetworkFailures(object, url, objects) {
  const namespace = object.metadata?.namespace;
  const host = url.hostname.split('.')[0];
  const port = Number(url.port || 5432);
  const named = (kind, name) => objects.find((o) => o.kind === kind && o.apiVersion === CNPG && o.metadata?.name === name);
  const pooler = named('Pooler', host);
  const cluster = pooler ? named('Cluster', pooler.spec?.cluster?.name) : named('Cluster', host.replace(/-rw$/, ''));
  if (!pooler && !cluster) return [];  // an external database: its NetworkPolicy is the overlay's
  const client = { name: `${object.kind}/${object.metadata?.name}`, namespace, labels: podTemplateLabels(object) };
  const primary = cluster && { name: `Cluster/${cluster.metadata.name} primary`, namespace,
    labels: { 'cnpg.io/cluster': cluster.metadata.name, 'cnpg.io/podRole': 'instance', 'cnpg.io/instanceRole': 'primary' } };
  const hops = [];
  if (pooler) {
    const bouncer = { name: `Pooler/${pooler.metadata.name}`, namespace,
      labels: { 'cnpg.io/poolerName': pooler.metadata.name, 'cnpg.io/podRole': 'pooler' } };
    hops.push([client, bouncer, port]);
    if (primary) hops.push([bouncer, primary, 5432]);
  } else {
    hops.push([client, primary, port]);
  }
  return hops.filter(([from, to, p]) => !allows(objects, from, to, p)).map(([from, to, p]) => ({
    object, rule: 'mcval/database-network', message: `the NetworkPolicies do not let ${from.name} reach ${to.name} on port ${p}`,
  }));
}

function sqliteFailures(objects) {
  const failures = [];
  const fail = (object, message) => failures.push({ object, rule: 'mcval/sqlite-single-server', message });
  for (const object of objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet')) {
    const servers = (object.spec?.template?.spec?.containers ?? []).filter((c) => (c.args ?? [])[0] === 'serve');
    if (servers.length === 0 || servers.every((c) => isPostgresql(setting(c, 'database')))) continue;
    const why = '`mcval serve` without --database keeps its state in one SQLite file, for one server: PostgreSQL for more';
    const replicas = object.spec?.replicas ?? 1;
    if (replicas > 1) fail(object, `${replicas} replicas: ${why}`);
    for (const hpa of objects.filter((o) => o.kind === 'HorizontalPodAutoscaler' &&
      o.spec?.scaleTargetRef?.kind === object.kind && o.spec?.scaleTargetRef?.name === object.metadata?.name)) {
      if ((hpa.spec?.maxReplicas ?? 1) > 1) fail(hpa, `maxReplicas ${hpa.spec.maxReplicas} for ${object.kind}/${object.metadata.name}: ${why}`);
    }
    const strategy = object.spec?.strategy ?? {};
    const surge = String(strategy.rollingUpdate?.maxSurge ?? '25%');
    if (object.kind === 'Deployment' && (strategy.type ?? 'RollingUpdate') === 'RollingUpdate' && !['0', '0%'].includes(surge)) {
      fail(object, `strategy RollingUpdate with maxSurge ${surge} starts a second server on the SQLite file before the first stops: use Recreate`);
    }
  }
  return failures;
}

// ---------------------------------------------------------------------------------------------
// Kueue (docs/deployment.md, "Kueue"): a queued Job is created suspended and names a LocalQueue
// that is rendered; production queues every Job; and a Job whose ClusterQueue is among the
// checked kustomizations asks only for resources that the ClusterQueue covers, no more at once
// than its quota.

const QUEUE_LABEL = 'kueue.x-k8s.io/queue-name';
const MIN_PARALLELISM = 'kueue.x-k8s.io/job-min-parallelism';

function kueueFailures(objects, { production }) {
  const failures = [];
  const fail = (object, message) => failures.push({ object, rule: 'mcval/kueue-queue', message });
  for (const job of objects.filter((o) => o.kind === 'Job')) {
    const queue = job.metadata?.labels?.[QUEUE_LABEL];
    if (!queue) {
      if (production) fail(job, `no label ${QUEUE_LABEL}: production's Jobs wait for their quota in Kueue`);
      continue;
    }
    if (job.spec?.suspend !== true) fail(job, 'not created suspended (spec.suspend: true): Kueue unsuspends a Job when it admits it');
    const local = objects.find((o) => o.kind === 'LocalQueue' && o.apiVersion === KUEUE && o.metadata?.name === queue &&
      o.metadata?.namespace === job.metadata?.namespace);
    if (!local) fail(job, `queue ${queue} is no LocalQueue rendered in the Job's namespace`);
    const minimum = job.metadata?.annotations?.[MIN_PARALLELISM];
    if (minimum !== undefined && !(Number.isInteger(Number(minimum)) && Number(minimum) >= 0 && Number(minimum) < (job.spec?.parallelism ?? 1))) {
      fail(job, `${MIN_PARALLELISM} ${minimum} is not between 0 and parallelism - 1 (Kueue refuses the Job)`);
    }
  }
  return failures;
}

/** Adds to each run the failures of its queued Jobs against the ClusterQueues rendered in any
 *  run (a Job of overlays/production, the ClusterQueue of cluster/kueue). */
function addKueueAdmissionFailures(runs) {
  const all = runs.flatMap((run) => run.objects);
  for (const run of runs) {
    for (const job of run.objects.filter((o) => o.kind === 'Job' && o.metadata?.labels?.[QUEUE_LABEL])) {
      const fail = (message) => run.failures.push({ object: job, rule: 'mcval/kueue-admissible', message });
      const local = run.objects.find((o) => o.kind === 'LocalQueue' && o.metadata?.name === job.metadata.labels[QUEUE_LABEL]);
      const queue = local && all.find((o) => o.kind === 'ClusterQueue' && o.metadata?.name === local.spec?.clusterQueue);
      if (!queue) continue;
      const namespace = job.metadata?.namespace;
      const namespaceLabels = { 'kubernetes.io/metadata.name': namespace,
        ...(all.find((o) => o.kind === 'Namespace' && o.metadata?.name === namespace)?.metadata?.labels ?? {}) };
      if (queue.spec?.namespaceSelector && !selects(queue.spec.namespaceSelector, namespaceLabels)) {
        fail(`ClusterQueue ${queue.metadata.name} does not take workloads of namespace ${namespace}`);
      }
      const perPod = {};
      for (const container of job.spec?.template?.spec?.containers ?? []) {
        const requests = { ...(container.resources?.limits ?? {}), ...(container.resources?.requests ?? {}) };
        for (const [resource, amount] of Object.entries(requests)) perPod[resource] = (perPod[resource] ?? 0) + quantityBytes(amount);
      }
      const pods = Number(job.metadata?.annotations?.[MIN_PARALLELISM] ?? job.spec?.parallelism ?? 1) || 1;
      const groups = queue.spec?.resourceGroups ?? [];
      for (const [resource, amount] of Object.entries(perPod)) {
        if (!(amount > 0)) continue;
        const group = groups.find((g) => (g.coveredResources ?? []).includes(resource));
        if (!group) {
          fail(`requests ${resource}, which ClusterQueue ${queue.metadata.name} does not cover: Kueue would never admit it`);
          continue;
        }
        const quota = Math.max(0, ...(group.flavors ?? []).map((f) =>
          quantityBytes((f.resources ?? []).find((r) => r.name === resource)?.nominalQuota ?? 0)));
        if (amount * pods > quota) {
          fail(`${pods} pods at once need ${resource} ${+(amount * pods).toPrecision(6)}, more than ClusterQueue ${queue.metadata.name}'s quota ${quota}`);
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------

const options = parseArguments(process.argv.slice(2));
let failed = 0;
const runs = [];
for (const dir of options.dirs) {
  const name = path.relative(process.cwd(), dir) || dir;
  try {
    runs.push({ dir, name, objects: render(options.kubectl, dir), failures: [] });
  } catch (error) {
    console.log(`${name}: FAIL [kustomize] ${String(error.stderr || error.message).trim()}`);
    ++failed;
  }
}
for (const run of runs) {
  const production = options.production || path.basename(path.resolve(run.dir)) === 'production';
  const requireDigest = options.requireDigest || production;
  run.failures.push(
    ...(await schemaFailures(run.objects)),
    ...(await policyFailures(run.objects, run.name)),
    ...mcvalFailures(run.objects, { requireDigest, production }),
  );
}
addKueueAdmissionFailures(runs);
for (const { name, objects, failures } of runs) {
  for (const f of failures) console.log(`${name}: ${label(f.object)}: [${f.rule}] ${f.message}`);
  if (failures.length > 0) {
    console.log(`${name}: FAIL: ${failures.length} failures in ${objects.length} objects`);
    ++failed;
  } else {
    console.log(`${name}: ok: ${objects.length} objects pass the schemas, Pod Security restricted, best practices and mcval's rules`);
  }
}
process.exit(failed > 0 ? 1 : 0);
