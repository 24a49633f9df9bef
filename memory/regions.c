/*
 * memory/regions.c — the region map as a balanced search tree.
 *
 * A program may hold tens of thousands of mappings (Linux allows 65,530), so
 * every operation on the map must cost O(log n), not a scan or a shift of
 * the whole list. The regions are the nodes of a treap keyed by start (a
 * binary search tree kept balanced by random priorities: expected depth
 * O(log n), whatever order the program maps in; the priorities come from a
 * generator the program cannot see). Each node also links to its neighbours
 * in address order, so walking from a region to the next costs O(1).
 *
 * Each node carries what a free-range search needs about its subtree: the
 * lowest start, the highest end and the largest gap between two of its
 * regions. A search skips every subtree whose largest gap is too small, so
 * finding a free range is O(log n) too, top-down or bottom-up.
 */
#include "memory/internal.h"

#include <glib.h>

static uint64_t max_u64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* Recomputes node's subtree summary from its children's. */
static void node_update(struct region_node *node)
{
    const struct guest_region *region = &node->entry.region;
    uint64_t gap = 0;

    node->min_start = region->start;
    node->max_end = region->end;
    if (node->left) {
        node->min_start = node->left->min_start;
        gap = max_u64(node->left->max_gap, region->start - node->left->max_end);
    }
    if (node->right) {
        node->max_end = node->right->max_end;
        gap = max_u64(gap, max_u64(node->right->max_gap, node->right->min_start - region->end));
    }
    node->max_gap = gap;
}

/* xorshift32: cheap, and enough to keep a treap balanced. */
static uint32_t next_priority(struct guest_memory *memory)
{
    uint32_t x = memory->region_seed ? memory->region_seed : 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    memory->region_seed = x;
    return x;
}

/* Splits the subtree at root into the nodes starting before key (*low) and
 * the others (*high). */
static void treap_split(struct region_node *root, uint64_t key, struct region_node **low,
                        struct region_node **high)
{
    if (!root) {
        *low = *high = NULL;
        return;
    }
    if (root->entry.region.start < key) {
        treap_split(root->right, key, &root->right, high);
        *low = root;
    } else {
        treap_split(root->left, key, low, &root->left);
        *high = root;
    }
    node_update(root);
}

/* Joins two subtrees where every node of low starts before every node of high. */
static struct region_node *treap_join(struct region_node *low, struct region_node *high)
{
    if (!low)
        return high;
    if (!high)
        return low;
    if (low->priority > high->priority) {
        low->right = treap_join(low->right, high);
        node_update(low);
        return low;
    }
    high->left = treap_join(low, high->left);
    node_update(high);
    return high;
}

static struct region_node *treap_insert(struct region_node *root, struct region_node *node)
{
    if (!root)
        return node;
    if (node->priority > root->priority) {
        treap_split(root, node->entry.region.start, &node->left, &node->right);
        node_update(node);
        return node;
    }
    if (node->entry.region.start < root->entry.region.start)
        root->left = treap_insert(root->left, node);
    else
        root->right = treap_insert(root->right, node);
    node_update(root);
    return root;
}

static struct region_node *treap_remove(struct region_node *root, const struct region_node *node)
{
    if (root == node)
        return treap_join(root->left, root->right);
    if (node->entry.region.start < root->entry.region.start)
        root->left = treap_remove(root->left, node);
    else
        root->right = treap_remove(root->right, node);
    node_update(root);
    return root;
}

/* Recomputes the summaries on the path from the root to node. */
static void treap_refresh(struct region_node *root, const struct region_node *node)
{
    if (root != node) {
        if (node->entry.region.start < root->entry.region.start)
            treap_refresh(root->left, node);
        else
            treap_refresh(root->right, node);
    }
    node_update(root);
}

bool region_kind_is_program(enum guest_region_kind kind)
{
    /* What Linux counts as a mapping of the process (and /proc/self/maps
     * lists); the guest kernel's pages, device pages and guard pages are
     * not the program's. */
    switch (kind) {
    case GUEST_REGION_PROGRAM:
    case GUEST_REGION_HEAP:
    case GUEST_REGION_MMAP:
    case GUEST_REGION_STACK:
        return true;
    default:
        return false;
    }
}

static bool region_is_counted(const struct region_entry *entry)
{
    return region_kind_is_program(entry->region.kind);
}

struct region_node *regions_first_ending_after(const struct guest_memory *memory, uint64_t address)
{
    struct region_node *found = NULL;

    for (struct region_node *node = memory->region_root; node;) {
        if (node->entry.region.end > address) {
            found = node;
            node = node->left;
        } else {
            node = node->right;
        }
    }
    return found;
}

struct region_node *regions_insert(struct guest_memory *memory, const struct region_entry *entry)
{
    struct region_node *node = g_new0(struct region_node, 1);

    node->entry = *entry;
    node->priority = next_priority(memory);
    node_update(node);
    /* The first region ending after the new start is the new one's
     * successor: regions never overlap. */
    struct region_node *next = regions_first_ending_after(memory, entry->region.start);
    struct region_node *prev = next ? next->prev : memory->region_last;
    node->next = next;
    node->prev = prev;
    if (next)
        next->prev = node;
    else
        memory->region_last = node;
    if (prev)
        prev->next = node;
    else
        memory->region_first = node;
    memory->region_root = treap_insert(memory->region_root, node);
    memory->region_count++;
    if (region_is_counted(entry))
        memory->map_count++;
    return node;
}

void regions_delete(struct guest_memory *memory, struct region_node *node)
{
    memory->region_root = treap_remove(memory->region_root, node);
    if (node->prev)
        node->prev->next = node->next;
    else
        memory->region_first = node->next;
    if (node->next)
        node->next->prev = node->prev;
    else
        memory->region_last = node->prev;
    memory->region_count--;
    if (region_is_counted(&node->entry))
        memory->map_count--;
    g_free(node);
}

void regions_changed(struct guest_memory *memory, struct region_node *node)
{
    treap_refresh(memory->region_root, node);
}

void regions_clear(struct guest_memory *memory)
{
    struct region_node *node = memory->region_first;

    while (node) {
        struct region_node *next = node->next;
        g_free(node);
        node = next;
    }
    memory->region_root = memory->region_first = memory->region_last = NULL;
    memory->region_count = memory->map_count = 0;
}

/* ---- free ranges ---------------------------------------------------------- */

struct gap_search {
    uint64_t len, low, high;
    bool top_down;
    uint64_t start; /* the answer */
};

/* Whether the free range [from, to) clipped to the window holds len bytes;
 * sets search->start to its highest or lowest such place. */
static bool gap_fits(struct gap_search *search, uint64_t from, uint64_t to)
{
    if (from < search->low)
        from = search->low;
    if (to > search->high)
        to = search->high;
    if (from >= to || to - from < search->len)
        return false;
    search->start = search->top_down ? to - search->len : from;
    return true;
}

/*
 * Searches the gaps between the regions of the subtree (not those at its
 * edges, which its parent sees). A subtree whose gaps are all too small or
 * which lies outside the window is skipped whole: only the subtrees on the
 * paths to the window's two ends are ever entered without an answer.
 */
static bool subtree_find(struct gap_search *search, const struct region_node *node)
{
    if (!node || node->max_gap < search->len || node->max_end <= search->low ||
        node->min_start >= search->high)
        return false;
    const struct guest_region *region = &node->entry.region;
    const struct region_node *left = node->left, *right = node->right;
    if (search->top_down) {
        return subtree_find(search, right) ||
               (right && gap_fits(search, region->end, right->min_start)) ||
               (left && gap_fits(search, left->max_end, region->start)) ||
               subtree_find(search, left);
    }
    return subtree_find(search, left) || (left && gap_fits(search, left->max_end, region->start)) ||
           (right && gap_fits(search, region->end, right->min_start)) ||
           subtree_find(search, right);
}

bool regions_find_gap(const struct guest_memory *memory, uint64_t len, uint64_t low, uint64_t high,
                      bool top_down, uint64_t *start)
{
    struct gap_search search = {len, low, high, top_down, 0};
    const struct region_node *root = memory->region_root;

    if (low >= high || high - low < len)
        return false;
    bool found;
    if (!root)
        found = gap_fits(&search, low, high);
    else if (top_down)
        found = gap_fits(&search, root->max_end, high) || subtree_find(&search, root) ||
                gap_fits(&search, low, root->min_start);
    else
        found = gap_fits(&search, low, root->min_start) || subtree_find(&search, root) ||
                gap_fits(&search, root->max_end, high);
    if (found)
        *start = search.start;
    return found;
}
