// Text of the files `sidecar-buildpack init` writes. Kept apart from the logic so the templates
// read as the files they become.

/** The sidecar placeholder's version: the first artifact a new buildpack ships. */
export const PLACEHOLDER_VERSION = '0.0.1';

export function manifestTemplate(name: string, uri: string, sha256: string): string {
  return `---
# ${name}: a Cloud Foundry supply buildpack that runs ${name} as a sidecar beside the app.
# libbuildpack's manifest format plus a \`sidecars:\` section (see README.md).
language: ${name}

default_versions:
- name: ${name}
  version: 0.0.x

dependencies:
# PLACEHOLDER: a tiny stand-in sidecar made by \`sidecar-buildpack init\` so this buildpack packages
# and stages out of the box. Replace it with your real release, e.g.
#   sidecar-buildpack dependency update ${name} --version 1.0.0 \\
#     --uri https://releases.example.org/${name}-1.0.0-linux-x64.tgz --file ./${name}-1.0.0-linux-x64.tgz --default
# The archive must hold the command below (bin/${name}); the file:// uri only works on this machine.
- name: ${name}
  version: ${PLACEHOLDER_VERSION}
  uri: ${uri}
  sha256: ${sha256}
  cf_stacks:
  - cflinuxfs4

include_files:
- README.md
- VERSION
- bin/detect
- bin/supply
- dist/*.cjs
- manifest.yml

# The sidecars this buildpack declares: each runs \`command\` from its installed dependency next to
# the app's process types, with its own memory limit (MB).
sidecars:
- name: ${name}
  dependency: ${name}
  command: bin/${name}
  process_types: [web]
  memory: 64
`;
}

/** The placeholder sidecar: logs, then idles until the platform stops it. */
export function placeholderSidecar(name: string): string {
  return `#!/bin/sh
# Placeholder for the ${name} sidecar (made by sidecar-buildpack init): replace it with your own.
echo "${name} placeholder sidecar started (pid $$)"
trap 'echo "${name}: stopping"; exit 0' TERM INT
while :; do sleep 1; done
`;
}

export function readmeTemplate(name: string): string {
  return `# ${name} buildpack

A Cloud Foundry **supply** buildpack that runs \`${name}\` as a sidecar next to your app. Made with
\`sidecar-buildpack init\`.

## Use it

List it before your app's own buildpack:

\`\`\`yaml
applications:
- name: my-app
  buildpacks:
  - ${name}_buildpack
  - nodejs_buildpack
\`\`\`

## Develop it

\`\`\`sh
sidecar-buildpack dependency update ${name} --version 1.0.0 --uri https://… --file ./artifact.tgz --default
sidecar-buildpack push fixtures/app                   # stage and run locally
sidecar-buildpack package --cached --stack cflinuxfs4 # an offline zip for operators
sidecar-buildpack package --stack cflinuxfs4          # an uncached zip to publish
sidecar-buildpack summary                             # markdown tables for release notes
\`\`\`

\`manifest.yml\` lists the dependencies (with sha256) and the \`sidecars:\` section: the command,
the process types the sidecar runs beside, its memory. \`bin/detect\` and \`bin/supply\` are shims
that run the toolkit's bundled \`dist/supply.cjs\` (with \`dist/supply-lazy.cjs\`, the part it loads
only to download, unzip or parse YAML); refresh them by running \`init\` again elsewhere and copying
them over when you upgrade the toolkit. \`dist/runtime.tsv\` tells \`bin/supply\` which Node runtime to
use for staging on a stack without node (it reads no YAML), and \`dist/manifest.json\` is
\`manifest.yml\` as staging reads it without parsing YAML; \`package\` writes both afresh into every
zip. Staging warns when the committed table no longer matches \`manifest.yml\`, and parses
\`manifest.yml\` itself when the compiled one was made from another.
`;
}

export const FIXTURE_PROCFILE = 'web: node server.js\n';

export const FIXTURE_SERVER = `// Fixture app for trying the buildpack: answers every request with a greeting.
const http = require('node:http');
const port = Number(process.env.PORT || 8080);
http
  .createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('Hello from the app\\n');
  })
  .listen(port, () => console.log(\`app listening on \${port}\`));
`;

export const FIXTURE_PACKAGE_JSON = `${JSON.stringify({ name: 'fixture-app', version: '1.0.0', private: true, scripts: { start: 'node server.js' } }, null, 2)}\n`;

export const GITIGNORE = '*.zip\n';
