import type { MessageTemplate } from './load-template.js';

/** What a person sees of a message in each of its languages: the title and body, placeholders as written. */
export interface MessagePreview {
  /** The locale of a variant; none for the base text. */
  locale?: string;
  title?: string;
  body?: string;
}

/** Long enough for any real title or body; a report is not the place for a whole essay. */
const previewChars = 240;

/** The base text and every locale's variant (what a variant leaves out, it takes from the base): the report shows who was sent what. */
export function messagePreview(template: MessageTemplate): MessagePreview[] {
  const preview = (locale: string | undefined, title: string | undefined, body: string | undefined): MessagePreview => ({
    ...(locale === undefined ? {} : { locale }),
    ...(title === undefined ? {} : { title: shortened(title) }),
    ...(body === undefined ? {} : { body: shortened(body) }),
  });
  return [
    preview(undefined, template.title, template.body),
    ...Object.entries(template.locales ?? {}).map(([locale, variant]) => preview(locale, variant.title ?? template.title, variant.body ?? template.body)),
  ];
}

function shortened(text: string): string {
  const characters = [...text];
  return characters.length > previewChars ? `${characters.slice(0, previewChars - 1).join('')}…` : text;
}
