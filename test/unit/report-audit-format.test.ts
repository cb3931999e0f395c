import { describe, expect, it } from 'vitest';
import { auditCsvHeader, auditCsvLine, auditJsonLine } from '../../src/report/audit-format.js';
import { maskedSubject, toAuditRecord, type AuditSourceRow } from '../../src/report/audit-records.js';
import { parseCsv } from '../../src/report/csv.js';

const row: AuditSourceRow = {
  id: 42,
  message_id: '<a"b@x>',
  received_at: Date.UTC(2026, 10, 3, 9, 5, 7, 9),
  from_address: 'ward9@northmere.nhs.uk',
  organisation: null,
  category: 'blood_test_request',
  action: 'reply',
  confidence: 0.123456,
  status: 'replied',
  to_person: 'sensitive:a "complaint", =formal',
  urgent: 0,
  dry_run: 1,
  subject: '=Bloods for 943 476 5919, "urgent"\nplease',
  reply_to_address: 'ward9@northmere.nhs.uk',
  reply_message_id: '<r@x>',
  replied_at: Date.UTC(2026, 10, 3, 10, 0, 0, 0),
  policy_version: '2026.1',
  policy_hash: 'abc',
  reasons: '[{"rule":"bloods","matched":"please \\"arrange\\""}]',
};

describe('audit records', () => {
  it('one JSON line equals the record with the stored reasons, parsed', () => {
    const line = auditJsonLine(row);
    expect(line.endsWith('}\n')).toBe(true);
    expect(line.indexOf('\n')).toBe(line.length - 1);
    expect(line).toBe(`${JSON.stringify({ ...toAuditRecord(row), reasons: JSON.parse(row.reasons) })}\n`);
  });

  it('masks NHS numbers in the subject and keeps other numbers', () => {
    expect(JSON.parse(auditJsonLine(row)).subject).toBe('=Bloods for 943 *** ****, "urgent"\nplease');
    expect(maskedSubject('Request 4188 ward 12')).toBe('Request 4188 ward 12');
    expect(maskedSubject('NHS 9434765919')).toBe('NHS 943 *** ****');
    expect(maskedSubject(null)).toBeNull();
  });

  it('an empty reasons column is an empty list, so the line stays valid JSON', () => {
    expect(JSON.parse(auditJsonLine({ ...row, reasons: '' })).reasons).toEqual([]);
  });

  it('one CSV line parses back to the same cells as the JSON record, the subject guarded', () => {
    const [header, cells] = parseCsv(auditCsvHeader() + auditCsvLine(row));
    const record = JSON.parse(auditJsonLine(row)) as Record<string, unknown>;
    header!.forEach((column, i) => {
      const value = record[column];
      const expected = value === null ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
      expect(cells![i]!.replace(/^'(?==)/, ''), column).toBe(expected);
    });
    expect(cells![header!.indexOf('subject')]).toMatch(/^'=/);
  });
});
