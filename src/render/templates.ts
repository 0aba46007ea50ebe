/**
 * The handlebars templates under templates/. They only print a prepared view; every decision is
 * made in the component models, where it can be tested as data.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';

// src/render/ and dist/render/ are both two levels below the package root.
const TEMPLATE_DIR = fileURLToPath(new URL('../../templates/', import.meta.url));

const cache = new Map<string, Handlebars.TemplateDelegate>();

export function renderTemplate(name: string, view: object): string {
  let t = cache.get(name);
  if (!t) {
    const source = readFileSync(`${TEMPLATE_DIR}${name}`, 'utf8');
    // noEscape: these are config files, not HTML; strict: a missing field is a bug, not "".
    t = Handlebars.compile(source, { noEscape: true, strict: true });
    cache.set(name, t);
  }
  return t(view);
}
