// Shared by the build-time render (ssr.tsx), the first-paint script
// (prepaint.ts) and the admin center (main.tsx, api/client.ts).

/** Set on window when prepaint.ts painted the first page (and reported it). */
export const PREPAINTED = "__lockboxPrepainted";

/** Marks what prepaint added to the document; main.tsx removes it once React has rendered. */
export const PREPAINT_ATTR = "data-prepaint";

/** Avatar colours in Fluent's `colorful` order (react-avatar's useAvatar). */
export const AVATAR_COLORS = [
  "dark-red", "cranberry", "red", "pumpkin", "peach", "marigold", "gold", "brass", "brown", "forest",
  "seafoam", "dark-green", "light-teal", "teal", "steel", "blue", "royal-blue", "cornflower", "navy",
  "lavender", "purple", "grape", "lilac", "pink", "magenta", "plum", "beige", "mink", "platinum", "anchor",
] as const;
