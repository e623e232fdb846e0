/**
 * Renders a report saved with `npm run bench -- --json-file FILE` again, as a
 * table or as markdown, without running anything:
 *
 *   node dist/bench/render-report.js FILE [--format table|markdown]
 */
import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { renderMarkdown, renderTable, type BenchReport } from './bench-report.js';
import { renderScaleOutMarkdown, renderScaleOutTable, type ScaleOutReport } from './scale-out-report.js';

const program = new Command()
  .name('render-report')
  .argument('<file>', 'a JSON report written by registry-bench --json-file')
  .addOption(new Option('--format <format>', 'output format').choices(['table', 'markdown']).default('table'))
  .parse(process.argv);
const { format } = program.opts<{ format: 'table' | 'markdown' }>();
const report = JSON.parse(readFileSync(program.args[0]!, 'utf8')) as BenchReport | ScaleOutReport;
if ('mode' in report && report.mode === 'scale-out') {
  process.stdout.write(format === 'markdown' ? renderScaleOutMarkdown(report) : renderScaleOutTable(report));
} else {
  const r = report as BenchReport;
  process.stdout.write(format === 'markdown' ? renderMarkdown(r) : renderTable(r));
}
