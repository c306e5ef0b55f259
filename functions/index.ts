/**
 * Loading a function's module registers its handler with the functions-framework under its name,
 * as a deploy does. The local stack and the tests load functions through this; the library never
 * imports functions/.
 */
export function loadFunction(name: string): void {
  require(`./${name}`);
}
