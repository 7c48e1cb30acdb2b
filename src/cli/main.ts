/** The `tessera` command line (placeholder until the CLI lands). */
export async function main(_args: string[]): Promise<number> {
  return 0;
}
