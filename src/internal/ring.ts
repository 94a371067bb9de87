/**
 * A bounded history: the latest `capacity` items, oldest first. Adding is O(1) (an array's `shift()` moves every
 * item, which a long history makes slow on every step).
 */
export class Ring<T> {
  private readonly items: T[] = [];
  private start = 0;

  constructor(private readonly capacity: number) {}

  /** Adds an item, dropping the oldest when full. */
  push(item: T): void {
    if (this.items.length < this.capacity) {
      this.items.push(item);
      return;
    }
    this.items[this.start] = item;
    this.start = (this.start + 1) % this.capacity;
  }

  /** How many items it holds. */
  get length(): number {
    return this.items.length;
  }

  /** The items, oldest first, as a new array. */
  toArray(): T[] {
    return this.start === 0 ? this.items.slice() : this.items.slice(this.start).concat(this.items.slice(0, this.start));
  }
}
