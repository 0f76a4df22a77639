#!/usr/bin/env node
// Offline check of mcval's Kubernetes manifests (docs/deployment.md, "Checking the manifests").
//
//   node check.mjs [--kubectl PATH] [--require-digest] KUSTOMIZATION_DIR...
//   node check.mjs                       # every overlay under ../overlays
//
// For each kustomization: `kubectl kustomize` renders it; every object is validated against
// the Kubernetes OpenAPI schemas (npm kubernetes-models); every rule of Monokle's Pod Security
// Standards and best-practices plugins (npm @monokle/validation) runs as an error; then mcval's
// own rules (below) run. Nothing is fetched: only the two bundled plugins are loaded, and any
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
  console.error('usage: node check.mjs [--kubectl PATH] [--require-digest] [KUSTOMIZATION_DIR...]');
  process.exit(2);
}

function parseArguments(argv) {
  const options = { kubectl: process.env.KUBECTL || 'kubectl', requireDigest: false, dirs: [] };
  for (let i = 0; i < argv.length; ++i) {
    const arg = argv[i];
    if (arg === '--kubectl') {
      if (i + 1 >= argv.length) usage('--kubectl needs a path');
      options.kubectl = argv[++i];
    } else if (arg === '--require-digest') {
      options.requireDigest = true;
    } else if (arg.startsWith('-')) {
      usage(`unknown option ${arg}`);
    } else {
      options.dirs.push(arg);
    }
  }
  if (options.dirs.length === 0) {
    const overlays = path.join(here, '..', 'overlays');
    options.dirs = readdirSync(overlays)
      .map((name) => path.join(overlays, name))
      .filter((dir) => statSync(dir).isDirectory())
      .sort();
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
    k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
  return Number(m[1]) * (units[m[2]] ?? 1);
}

function mcvalFailures(objects, { requireDigest }) {
  const failures = [];
  const fail = (object, rule, message) => failures.push({ object, rule: `mcval/${rule}`, message });

  const namespaces = objects.filter((o) => o.kind === 'Namespace');
  if (namespaces.length === 0) fail({ kind: 'Namespace' }, 'namespace-restricted', 'no Namespace is rendered');
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
  if (!denyAll) fail({ kind: 'NetworkPolicy' }, 'network-default-deny', 'no NetworkPolicy denies all ingress and egress');

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

const options = parseArguments(process.argv.slice(2));
let failed = 0;
for (const dir of options.dirs) {
  const name = path.relative(process.cwd(), dir) || dir;
  let objects;
  try {
    objects = render(options.kubectl, dir);
  } catch (error) {
    console.log(`${name}: FAIL [kustomize] ${String(error.stderr || error.message).trim()}`);
    ++failed;
    continue;
  }
  const requireDigest = options.requireDigest || path.basename(path.resolve(dir)) === 'production';
  const failures = [
    ...(await schemaFailures(objects)),
    ...(await policyFailures(objects, name)),
    ...mcvalFailures(objects, { requireDigest }),
  ];
  for (const f of failures) console.log(`${name}: ${label(f.object)}: [${f.rule}] ${f.message}`);
  if (failures.length > 0) {
    console.log(`${name}: FAIL: ${failures.length} failures in ${objects.length} objects`);
    ++failed;
  } else {
    console.log(`${name}: ok: ${objects.length} objects pass the schemas, Pod Security restricted, best practices and mcval's rules`);
  }
}
process.exit(failed > 0 ? 1 : 0);
