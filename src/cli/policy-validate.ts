import type { Command } from 'commander';
import { policyJsonSchemaText } from '../policy/json-schema.js';
import { loadPolicyFile } from '../policy/load-policy.js';
import { formatProblem, resolvePolicyFile } from './load-policy-or-exit.js';

export function register(program: Command): void {
  const policy = program.commands.find((c) => c.name() === 'policy') ?? program.command('policy').description('Work with the LMC-approved policy file.');
  policy
    .command('validate')
    .argument('[file]', 'policy file (default: POLICY_FILE, else config/policy.yaml, else the example)')
    .option('--templates <dir>', 'templates folder to check the reply templates in')
    .description('Check a policy file and report every problem with file:line:column, field path and fix. Exit 0 valid, 2 not.')
    .action((file: string | undefined, options: { templates?: string }) => {
      const resolved = resolvePolicyFile(file);
      if (resolved.note) process.stderr.write(`${resolved.note}\n`);
      const result = loadPolicyFile(resolved.file, options.templates ? { templatesDir: options.templates } : {});
      for (const warning of result.warnings) process.stdout.write(`warning: ${formatProblem(warning)}\n`);
      if (result.policy) {
        const { data } = result.policy;
        process.stdout.write(
          `${resolved.file}: valid. Policy ${data.policy.version} approved by ${data.policy.approvedBy} on ${data.policy.approvedOn}; ` +
            `${data.hospitals.length} hospitals, ${Object.keys(data.categories).length} categories; hash ${result.policy.hash}\n`,
        );
        return;
      }
      for (const problem of result.problems) process.stdout.write(`${formatProblem(problem)}\n`);
      process.stdout.write(`${resolved.file}: ${result.problems.length} problem${result.problems.length === 1 ? '' : 's'}\n`);
      process.exitCode = 2;
    });
  policy
    .command('schema')
    .description('Print the JSON Schema of the policy file (config/policy.schema.json is this output).')
    .action(() => {
      process.stdout.write(policyJsonSchemaText());
    });
}
