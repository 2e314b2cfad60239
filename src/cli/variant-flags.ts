import { basename, extname, resolve } from 'node:path';
import { describeSplit, type VariantPlan } from '../campaign/variants.js';
import { quoted } from '../domain/quote-value.js';
import { UsageError } from '../errors.js';
import { CompiledTemplate } from '../message/compile-template.js';
import { loadTemplate } from '../message/load-template.js';

export interface VariantFlags {
  /** --variant FILE, repeated: an A/B campaign's messages. */
  variant?: string[];
  /** --split 50,50: each variant's weight (default: equal). */
  split?: string;
  /** --holdout 10%: the share of recipients that gets nothing. */
  holdout?: string;
  message?: string;
  token?: string[];
}

/** A variant's name is its file's, without the extension: what the report, the events and FCM's label call it. */
const variantName = /^[A-Za-z0-9_-]{1,30}$/;

/**
 * `--variant a.json --variant b.json [--split 60,40] [--holdout 10%]`: the campaign's messages,
 * each compiled and checked as --message is, and each one's share of the recipients, the
 * holdout's taken first. Undefined without --variant.
 */
export async function openVariants(options: VariantFlags, cwd: string): Promise<VariantPlan | undefined> {
  const files = options.variant ?? [];
  if (files.length === 0) {
    if (options.split !== undefined || options.holdout !== undefined)
      throw new UsageError('--split and --holdout share a campaign among its --variant messages: give two or more --variant FILE');
    return undefined;
  }
  if (options.message !== undefined) throw new UsageError('give --message, or two or more --variant, not both: each variant is a message');
  if (options.token !== undefined && options.token.length > 0) throw new UsageError("--variant splits a campaign's audience: a test send to --token takes one --message");
  if (files.length < 2) throw new UsageError('an A/B campaign needs two or more --variant FILE (one message is --message FILE)');
  // The journal writes each recipient's variant as one base-36 digit.
  if (files.length > 36) throw new UsageError(`an A/B campaign has at most 36 variants, not ${files.length}`);
  const names = files.map((file) => basename(file, extname(file)));
  for (const [index, name] of names.entries()) {
    if (!variantName.test(name))
      throw new UsageError(`--variant ${quoted(files[index])}: a variant is named by its file, and ${quoted(name)} is not letters, digits, _ and - (at most 30)`);
    if (names.indexOf(name) !== index) throw new UsageError(`--variant: two variants are named ${quoted(name)}: give their files different names`);
  }
  const weights = parseSplit(options.split, files.length);
  const holdout = parseHoldout(options.holdout);
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  const variants = await Promise.all(
    files.map(async (file, index) => {
      const messageFile = resolve(cwd, file);
      return {
        name: names[index],
        messageLabel: file,
        messageFile,
        template: new CompiledTemplate(await loadTemplate(file, messageFile)),
        share: (weights[index] / total) * (1 - holdout),
      };
    }),
  );
  return { variants, holdout, spec: describeSplit(variants, holdout) };
}

/** --split 50,50 (or 2,1): one positive weight a variant; none: equal. */
function parseSplit(split: string | undefined, count: number): number[] {
  if (split === undefined) return Array<number>(count).fill(1);
  const weights = split.split(',').map((part) => Number(part.trim().replace(/%$/, '')));
  if (weights.length !== count || weights.some((weight) => !Number.isFinite(weight) || weight <= 0)) {
    throw new UsageError(
      `--split takes one positive weight a variant, in their order (${count} here, such as ${Array<number>(count)
        .fill(Math.floor(100 / count))
        .join(',')}), not ${quoted(split)}`,
    );
  }
  return weights;
}

/** --holdout 10% (or 0.1): a share from 0 to under 100%. */
function parseHoldout(holdout: string | undefined): number {
  if (holdout === undefined) return 0;
  const text = holdout.trim();
  const share = text.endsWith('%') ? Number(text.slice(0, -1)) / 100 : Number(text);
  if (text === '' || !Number.isFinite(share) || share < 0 || share >= 1) {
    throw new UsageError(`--holdout is the share of recipients that gets nothing: a percentage (10%) or a fraction (0.1), under 100%, not ${quoted(holdout)}`);
  }
  return share;
}
