/**
 * Just enough of mvdan-sh@0.10.1 (the GopherJS build of mvdan.cc/sh/v3/syntax, which ships no
 * types) for policy/gopher.ts, the only file that imports it.
 */
declare module 'mvdan-sh' {
  interface MvdanFile {
    /** The GopherJS object behind the JS wrapper: Go field names, Go byte strings. */
    readonly __internal_object__: unknown;
  }
  interface MvdanParser {
    /** Throws a wrapped Go error (with an `Error()` method) on a syntax error. */
    Parse(src: string, name: string): MvdanFile;
  }
  interface MvdanSyntax {
    NewParser(...options: unknown[]): MvdanParser;
  }
  const sh: { readonly syntax: MvdanSyntax };
  export default sh;
}
