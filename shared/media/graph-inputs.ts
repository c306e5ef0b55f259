/** A file a filtergraph reads, by its first audio stream; `loop` ones repeat without end (-stream_loop -1). */
export interface GraphInput {
  path: string;
  loop?: boolean;
  /** Options of the file's demuxer, before its `-i`. */
  options?: readonly string[];
}

/**
 * The inputs of one ffmpeg run whose filtergraph is put together from parts (the voice, the music,
 * the original sound): a file asked for twice is opened once and its audio split, so every part
 * gets a pad of its own.
 */
export class GraphInputs {
  private readonly inputs: GraphInput[] = [];
  private readonly uses: number[] = [];

  /** A pad, for one part's use only, with the first audio stream of `input`. */
  use(input: GraphInput): string {
    let index = this.inputs.findIndex((i) => i.path === input.path && !!i.loop === !!input.loop);
    if (index < 0) {
      index = this.inputs.push(input) - 1;
      this.uses.push(0);
    }
    const use = this.uses[index]!;
    this.uses[index] = use + 1;
    return padName(index, use);
  }

  /** The ffmpeg arguments that open the inputs, in order. */
  args(): string[] {
    return this.inputs.flatMap((input) => [
      ...(input.options ?? []),
      ...(input.loop ? ['-stream_loop', '-1'] : []),
      ...['-i', input.path],
    ]);
  }

  /** The filtergraph lines that hand each use its pad. */
  graph(): string[] {
    return this.uses.flatMap((count, index) => {
      if (count === 0) return [];
      const pads = Array.from({ length: count }, (_, use) => `[${padName(index, use)}]`).join('');
      return [`[${index}:a:0]${count > 1 ? `asplit=${count}` : 'anull'}${pads}`];
    });
  }
}

function padName(index: number, use: number): string {
  return `in${index}_${use}`;
}
