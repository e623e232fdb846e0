/*
 * The language catalogers: packages that language package managers and
 * toolchains leave in an image, one cataloger per kind of evidence.
 */
import type { Cataloger } from '../../types.js';
import { cargoCataloger } from './cargo.js';
import { goBinaryCataloger } from './go-binary.js';
import { javaCataloger } from './java.js';
import { npmCataloger } from './npm.js';
import { pythonCataloger } from './python.js';
import { rubyCataloger } from './ruby.js';
import { rustBinaryCataloger } from './rust-binary.js';

/**
 * Every language cataloger. The Go and Rust binary catalogers both select
 * executables for `inspect`: the reader hands such a file to each of them.
 */
export const languageCatalogers: Cataloger[] = [
  npmCataloger,
  pythonCataloger,
  rubyCataloger,
  cargoCataloger,
  goBinaryCataloger,
  rustBinaryCataloger,
  javaCataloger,
];
