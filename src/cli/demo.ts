import { existsSync, rmSync } from 'node:fs';
import type { Command } from 'commander';
import { CaseStore } from '../store/case-store.js';
import { openDatabase } from '../store/open-database.js';
import { preparePass } from './pass-command.js';

const DEMO = {
  inbox: 'data/sample-inbox',
  outbox: 'data/outbox',
  database: 'data/demo.sqlite',
  policy: 'config/policy.example.yaml',
  // The sample inbox is dated; the demo runs as if it were the morning after the last message.
  now: '2026-11-20T09:00:00Z',
};

export function register(program: Command): void {
  program
    .command('demo')
    .description('Run a pass over the bundled sample inbox with the example policy; replies go to data/outbox, the log to data/demo.sqlite.')
    .action(async () => {
      for (const path of [DEMO.outbox, DEMO.database, `${DEMO.database}-wal`, `${DEMO.database}-shm`]) {
        if (existsSync(path)) rmSync(path, { recursive: true, force: true });
      }
      const prepared = await preparePass(
        { source: `dir:${DEMO.inbox}`, outbox: DEMO.outbox, policy: DEMO.policy, database: DEMO.database, now: DEMO.now, quiet: true },
        { ...process.env, DATABASE_PATH: DEMO.database, POLICY_FILE: DEMO.policy },
      );
      let result;
      try {
        result = await prepared.run();
      } finally {
        await prepared.close();
      }
      const db = openDatabase(DEMO.database, { readonly: true });
      const store = new CaseStore(db);
      const rows = db.prepare('SELECT id FROM cases ORDER BY received_at, id').all() as Array<{ id: number }>;
      const out = process.stdout;
      out.write(`\npcn-autoreply demo: ${rows.length} messages from ${DEMO.inbox}, policy ${DEMO.policy}\n\n`);
      out.write(`${'case'.padEnd(11)} ${'from'.padEnd(34)} ${'category'.padEnd(25)} ${'outcome'.padEnd(10)} why\n`);
      for (const { id } of rows) {
        const row = store.get(id)!;
        const reasons = JSON.parse(row.reasons) as Array<{ rule: string; matched?: string }>;
        const key = reasons.find((r) => r.matched && r.rule !== 'sender.not-listed' && !r.rule.startsWith('hospital.')) ?? reasons[0];
        const why = key ? `${key.rule}${key.matched ? ` "${key.matched.slice(0, 40)}"` : ''}` : '';
        out.write(`${`PCN-${String(id).padStart(6, '0')}`.padEnd(11)} ${(row.from_address ?? '').slice(0, 34).padEnd(34)} ${row.category.padEnd(25)} ${row.status.padEnd(10)} ${why}\n`);
      }
      const c = result.counts;
      out.write(`\nReplied ${c.replied} (written to ${DEMO.outbox}/), review ${c.review}, filed ${c.filed}, ignored ${c.ignored}.\n`);
      out.write(`Look at the replies in ${DEMO.outbox}/*.eml, and the log with:\n`);
      out.write(`  node dist/cli.js audit --database ${DEMO.database} --format json\n`);
      out.write(`  node dist/cli.js why PCN-000001 --database ${DEMO.database}\n`);
      db.close();
    });
}
