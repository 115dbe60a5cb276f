"""Why faiss HNSW reaches a recall in less time than hnswlib on some collections: its graph, the
order rows are inserted in, its memory layout or its search code? Builds hnswlib graphs from the
rows in collection order and shuffled (also searched renumbered by label, as the engine saves it),
and faiss's, with the same M and ef_construction; copies the shuffled hnswlib graph into a faiss
IndexHNSWFlat; searches all five at each ef: recall@10 against exact search, distance
computations per query (faiss's counter), time per query (one thread, rounds interleaved so drift
hits every system alike); then the level-0 out-degree of faiss's and the copied graph.

  ENGINE_DATA_DIR=... OMP_NUM_THREADS=1 python -m benchmarks.hnsw_graph_study xquad-r --ef 10,16,32,64
  ... python -m benchmarks.hnsw_graph_study miracl-yo --ef 64,128,256,512

Same graph, same search: "faiss on hnswlib's shuffled" returns hnswlib's hits, so any recall gap
between "faiss" and "hnswlib" at one ef is the graph's; any time gap on the same graph is the code's.
"""

from __future__ import annotations

import argparse
import struct
import time
from dataclasses import dataclass
from pathlib import Path

import faiss
import hnswlib
import numpy as np

from benchmarks.real_collections import COLLECTIONS, load_embeddings, split_queries
from benchmarks.vectors import exact_top, recall_at_k
from engine import graph_layout

K = 10
ROUNDS = 7


@dataclass
class HnswlibGraph:
    """The graph of a saved hnswlib index: per internal id its label, level and links per level."""
    labels: np.ndarray  # (n,) int64
    links: list[list[np.ndarray]]  # links[node][level]: neighbour internal ids
    entry_point: int
    max_level: int
    max_links0: int
    max_links: int


def read_hnswlib_graph(path: str) -> HnswlibGraph:
    """Parse hnswlib's index file (hnswalg.h saveIndex, format of hnswlib 0.8): a header of sizes,
    one fixed-size level-0 block per element (link count, links, vector, label), then per element
    its upper levels' link blocks."""
    raw = open(path, "rb").read()
    (offset_level0, _, count, element_size, label_offset, _, max_level, entry_point,
     max_links, max_links0, _, _, _) = graph_layout.HEADER.unpack_from(raw, 0)
    position = graph_layout.HEADER.size
    blocks = np.frombuffer(raw, dtype=np.uint8, count=count * element_size, offset=position)
    blocks = blocks.reshape(count, element_size)
    position += count * element_size
    level0 = blocks[:, offset_level0:offset_level0 + 4 * (max_links0 + 1)].copy().view(np.uint32)
    labels = blocks[:, label_offset:label_offset + 8].copy().view(np.uint64).ravel().astype(np.int64)
    links = []
    for node in range(count):
        (size,) = struct.unpack_from("<I", raw, position)
        position += 4
        upper = np.frombuffer(raw, dtype=np.uint32, count=size // 4, offset=position).reshape(-1, max_links + 1)
        position += size
        levels = [level0[node]] + list(upper)
        links.append([row[1:1 + (row[0] & 0xFFFF)].astype(np.int32) for row in levels])  # low 16 bits: count
    return HnswlibGraph(labels, links, int(entry_point), int(max_level), int(max_links0), int(max_links))


def faiss_index_on(graph: HnswlibGraph, vectors: np.ndarray, M: int) -> faiss.IndexHNSWFlat:
    """A faiss IndexHNSWFlat whose graph is hnswlib's (node i = hnswlib internal id i)."""
    index = faiss.IndexHNSWFlat(vectors.shape[1], M, faiss.METRIC_INNER_PRODUCT)
    hnsw = index.hnsw
    slots = faiss.vector_to_array(hnsw.cum_nneighbor_per_level)
    if slots[1] != graph.max_links0 or slots[2] - slots[1] != graph.max_links:
        raise ValueError(f"faiss M={M} does not give hnswlib's link counts ({graph.max_links0}, {graph.max_links})")
    index.storage.add(np.ascontiguousarray(vectors[graph.labels]))
    index.ntotal = len(graph.labels)
    levels = np.array([len(node_links) for node_links in graph.links], dtype=np.int32)
    offsets = np.zeros(len(levels) + 1, dtype=np.uint64)
    offsets[1:] = np.cumsum(slots[levels])
    neighbours = np.full(int(offsets[-1]), -1, dtype=np.int32)
    for node, node_links in enumerate(graph.links):
        for level, level_links in enumerate(node_links):
            start = int(offsets[node]) + int(slots[level])
            neighbours[start:start + len(level_links)] = level_links
    faiss.copy_array_to_vector(levels, hnsw.levels)
    faiss.copy_array_to_vector(offsets, hnsw.offsets)
    faiss.copy_array_to_vector(neighbours, hnsw.neighbors)
    hnsw.entry_point, hnsw.max_level = graph.entry_point, graph.max_level
    return index


def level0_degree(index: faiss.IndexHNSWFlat) -> np.ndarray:
    """Out-degree of every node at level 0."""
    hnsw = index.hnsw
    offsets = faiss.vector_to_array(hnsw.offsets).astype(np.int64)
    neighbours = faiss.vector_to_array(hnsw.neighbors)
    slots0 = int(faiss.vector_to_array(hnsw.cum_nneighbor_per_level)[1])
    return (neighbours[offsets[:-1, None] + np.arange(slots0)[None, :]] >= 0).sum(axis=1)


def _hnswlib_graph(vectors: np.ndarray, M: int, ef_construction: int, order: np.ndarray) -> hnswlib.Index:
    graph = hnswlib.Index(space="ip", dim=vectors.shape[1])
    graph.init_index(max_elements=len(vectors), M=M, ef_construction=ef_construction)
    graph.add_items(vectors[order], order)
    return graph


def searchers(vectors: np.ndarray, M: int, ef_construction: int, work_dir: str) -> dict:
    """name -> (set_ef, search(queries) -> labels, faiss index or None). hnswlib builds twice: from the
    rows in collection order and in a seeded random order; the shuffled graph is also searched as the
    engine saves it, renumbered by label (engine.graph_layout); faiss builds from collection order
    and also searches a copy of hnswlib's shuffled graph."""
    n, dimension = vectors.shape
    in_order = _hnswlib_graph(vectors, M, ef_construction, np.arange(n))
    shuffled = _hnswlib_graph(vectors, M, ef_construction, np.random.default_rng(0).permutation(n))
    own = faiss.IndexHNSWFlat(dimension, M, faiss.METRIC_INNER_PRODUCT)
    own.hnsw.efConstruction = ef_construction
    own.add(vectors)
    path = f"{work_dir}/hnswlib.bin"
    shuffled.save_index(path)
    copied = read_hnswlib_graph(path)
    transplant = faiss_index_on(copied, vectors, M)
    graph_layout.order_by_label(Path(path))
    relaid = hnswlib.Index(space="ip", dim=dimension)
    relaid.load_index(path)

    def hnswlib_system(graph):
        return graph.set_ef, lambda q: graph.knn_query(q, k=K, num_threads=1)[0].astype(np.int64), None

    def faiss_ef(index):
        return lambda ef: setattr(index.hnsw, "efSearch", ef)

    return {
        "hnswlib, collection order": hnswlib_system(in_order),
        "hnswlib, shuffled": hnswlib_system(shuffled),
        "hnswlib, shuffled, label order": hnswlib_system(relaid),
        "faiss": (faiss_ef(own), lambda q: own.search(q, K)[1], own),
        "faiss on hnswlib's shuffled": (faiss_ef(transplant), lambda q: copied.labels[transplant.search(q, K)[1]],
                                        transplant),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("collection", choices=["xquad-r", "miracl-yo"])
    parser.add_argument("--ef", default="10,16,32,64", help="comma-separated ef values")
    parser.add_argument("--M", type=int, default=32)
    parser.add_argument("--ef-construction", type=int, default=200)
    parser.add_argument("--work-dir", default="/tmp")
    args = parser.parse_args(argv)
    name, languages = COLLECTIONS["xquad-r pool" if args.collection == "xquad-r" else "miracl-yo"]
    queries, vectors, *_ = load_embeddings(name, languages)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    test = np.ascontiguousarray(split_queries(queries)[1], dtype=np.float32)
    exact = exact_top(vectors, test, K)
    faiss.omp_set_num_threads(1)
    systems = searchers(vectors, args.M, args.ef_construction, args.work_dir)
    print(f"{args.collection}: {len(vectors)} vectors, {len(test)} queries, M={args.M}, "
          f"ef_construction={args.ef_construction}, one thread")
    for ef in [int(value) for value in args.ef.split(",")]:
        rows = {}
        for system, (set_ef, search, index) in systems.items():
            set_ef(ef)
            faiss.cvar.hnsw_stats.reset()
            recall = recall_at_k(search(test), exact)
            distances = faiss.cvar.hnsw_stats.ndis / len(test) if index is not None else float("nan")
            rows[system] = (recall, distances, [])
        for _ in range(ROUNDS):
            for system, (set_ef, search, _) in systems.items():
                set_ef(ef)
                start = time.perf_counter()
                search(test)
                rows[system][2].append(time.perf_counter() - start)
        baseline = np.median(rows["hnswlib, shuffled"][2])
        for system, (recall, distances, times) in rows.items():
            median = np.median(times)
            print(f"ef={ef:4d}  {system:30s} recall@10 {recall:.4f}  distances/query {distances:7.1f}  "
                  f"{median / len(test) * 1e6:8.1f} µs/query  time ÷ hnswlib shuffled {median / baseline:.3f}")
    for system, (_, _, index) in systems.items():
        if index is not None:
            degree = level0_degree(index)
            print(f"level-0 out-degree, {system}: mean {degree.mean():.1f}, "
                  f"p10/p50/p90 {' / '.join(str(int(v)) for v in np.percentile(degree, [10, 50, 90]))}")


if __name__ == "__main__":
    main()
