// Tests of the RocksDB Store wrapper on a real database on disk.
#include "common/storage/store.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/storage/key_codec.h"
#include "gtest/gtest.h"
#include "rocksdb/perf_context.h"
#include "rocksdb/perf_level.h"
#include "tests/testing/test_env.h"

namespace triad::storage {
namespace {

std::unique_ptr<Store> OpenStore(const std::string& path) {
  StoreOptions o;
  o.path = path;
  o.column_families = {"items", "index"};
  o.block_cache_bytes = 1 << 20;
  auto store = Store::Open(o);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(*store) : nullptr;
}

TEST(StoreTest, BatchIsAtomicAcrossColumnFamiliesAndSurvivesReopen) {
  testing::TempDir dir;
  {
    auto store = OpenStore(dir.path());
    rocksdb::WriteBatch batch;
    batch.Put(store->Cf("items"), "k1", "v1");
    batch.Put(store->Cf("index"), "i1", "k1");
    ASSERT_TRUE(store->Write(batch).ok());
    ASSERT_TRUE(store->Close().ok());
    EXPECT_FALSE(store->Get("items", "k1").ok());  // closed
  }
  auto store = OpenStore(dir.path());
  EXPECT_EQ(*store->Get("items", "k1"), "v1");
  EXPECT_EQ(*store->Get("index", "i1"), "k1");
  EXPECT_TRUE(absl::IsNotFound(store->Get("items", "nope").status()));
  EXPECT_FALSE(*store->Exists("items", "nope"));
  EXPECT_TRUE(absl::IsInvalidArgument(store->Get("unknown_cf", "k").status()));
}

uint64_t WalBytes(Store& store) {
  rocksdb::VectorLogPtr wals;
  EXPECT_TRUE(store.db()->GetSortedWalFiles(wals).ok());
  uint64_t bytes = 0;
  for (const auto& w : wals) bytes += w->SizeFileBytes();
  return bytes;
}

TEST(StoreTest, BulkLoadSkipsTheLogAndIsKeptByFlush) {
  testing::TempDir dir;
  for (bool bulk : {false, true}) {
    StoreOptions o;
    o.path = dir.path() + (bulk ? "/bulk" : "/logged");
    o.column_families = {"items"};
    o.bulk_load = bulk;
    auto store = Store::Open(o);
    ASSERT_TRUE(store.ok()) << store.status();
    for (int i = 0; i < 100; ++i) {
      rocksdb::WriteBatch batch;
      batch.Put((*store)->Cf("items"), "k" + std::to_string(i), std::string(100, 'v'));
      ASSERT_TRUE((*store)->Write(batch).ok());
    }
    if (bulk) {
      EXPECT_EQ(WalBytes(**store), 0u);
      ASSERT_TRUE((*store)->Flush().ok());
    } else {
      EXPECT_GT(WalBytes(**store), 10'000u);
    }
    ASSERT_TRUE((*store)->Close().ok());
    o.bulk_load = false;
    auto reopened = Store::Open(o);
    ASSERT_TRUE(reopened.ok()) << reopened.status();
    EXPECT_EQ(*(*reopened)->Get("items", "k99"), std::string(100, 'v')) << "bulk " << bulk;
  }
}

TEST(StoreTest, MultiGetAnswersEachKeyInOrderFromMemtableAndFiles) {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  rocksdb::WriteBatch flushed;
  flushed.Put(store->Cf("items"), "k1", "on disk");
  flushed.Put(store->Cf("items"), "k3", "replaced");
  ASSERT_TRUE(store->Write(flushed).ok());
  ASSERT_TRUE(store->Flush().ok());
  rocksdb::WriteBatch fresh;
  fresh.Put(store->Cf("items"), "k3", "in memtable");
  fresh.Put(store->Cf("items"), "k4", "");
  fresh.Put(store->Cf("index"), "k2", "another family");
  ASSERT_TRUE(store->Write(fresh).ok());
  // Unsorted, repeated and absent keys; a key present only in another column family.
  auto got = store->MultiGet("items", {"k4", "k1", "k2", "k3", "k1", "missing"});
  ASSERT_TRUE(got.ok()) << got.status();
  std::vector<std::optional<std::string>> want = {
      "", "on disk", std::nullopt, "in memtable", "on disk", std::nullopt};
  EXPECT_EQ(*got, want);
  EXPECT_TRUE(store->MultiGet("items", {})->empty());
  EXPECT_TRUE(absl::IsInvalidArgument(store->MultiGet("unknown_cf", {"k1"}).status()));
}

TEST(StoreTest, AbsentKeysSkipTheMemtableThroughItsBloomFilter) {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  rocksdb::WriteBatch batch;
  for (int i = 0; i < 1000; ++i) {
    batch.Put(store->Cf("items"), absl::StrCat("present-", i), "v");
  }
  ASSERT_TRUE(store->Write(batch).ok());
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableCount);
  rocksdb::get_perf_context()->Reset();
  auto got = store->MultiGet("items", {"absent-1", "absent-2", "absent-3", "present-7"});
  const uint64_t skipped = rocksdb::get_perf_context()->bloom_memtable_miss_count;
  const uint64_t searched = rocksdb::get_perf_context()->bloom_memtable_hit_count;
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  ASSERT_TRUE(got.ok()) << got.status();
  std::vector<std::optional<std::string>> want = {std::nullopt, std::nullopt, std::nullopt, "v"};
  EXPECT_EQ(*got, want);
  // The filter may let an absent key through (a false positive), never turn a present one away.
  EXPECT_GE(skipped, 2u);
  EXPECT_GE(searched, 1u);
}

TEST(StoreTest, BlockCacheShardsHoldAtLeastSixteenMegabytes) {
  EXPECT_EQ(BlockCacheShardBits(1 << 20), 0);
  EXPECT_EQ(BlockCacheShardBits(size_t{16} << 20), 0);
  EXPECT_EQ(BlockCacheShardBits(size_t{32} << 20), 1);
  EXPECT_EQ(BlockCacheShardBits(size_t{64} << 20), 2);
  EXPECT_EQ(BlockCacheShardBits(size_t{100} << 20), 2);
  EXPECT_EQ(BlockCacheShardBits(size_t{1} << 30), 6);
  EXPECT_EQ(BlockCacheShardBits(size_t{64} << 30), 6);
}

// One file whose filter block (10 bits per key: 1 MB for 800,000 keys) is larger than a shard
// of the 512 KB RocksDB would choose for a 16 MB cache: repeated point reads must find its
// index, filter and data blocks in the cache instead of reading them from the file each time.
TEST(StoreTest, RepeatedPointReadsOfALargeFileReadNothingFromIt) {
  testing::TempDir dir;
  StoreOptions o;
  o.path = dir.path();
  o.column_families = {"items"};
  o.block_cache_bytes = size_t{16} << 20;
  auto opened = Store::Open(o);
  ASSERT_TRUE(opened.ok()) << opened.status();
  std::unique_ptr<Store> store = std::move(*opened);
  constexpr int kKeys = 800000;
  auto key = [](int i) { return absl::StrCat("item-", 1000000 + i); };
  for (int start = 0; start < kKeys; start += 40000) {
    rocksdb::WriteBatch batch;
    for (int i = start; i < start + 40000; ++i) batch.Put(store->Cf("items"), key(i), "v");
    ASSERT_TRUE(store->Write(batch).ok());
  }
  ASSERT_TRUE(store->Flush().ok());
  rocksdb::CompactRangeOptions whole;
  whole.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  ASSERT_TRUE(store->db()->CompactRange(whole, store->Cf("items"), nullptr, nullptr).ok());
  std::string files;
  ASSERT_TRUE(store->db()->GetProperty(store->Cf("items"), "rocksdb.num-files-at-level1", &files));
  ASSERT_EQ(files, "1");
  std::vector<std::string> wanted;
  for (int i = 0; i < kKeys; i += kKeys / 500) wanted.push_back(key(i));
  for (const std::string& k : wanted) ASSERT_TRUE(store->Get("items", k).ok()) << k;

  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableCount);
  rocksdb::get_perf_context()->Reset();
  for (int round = 0; round < 3; ++round) {
    for (const std::string& k : wanted) ASSERT_TRUE(store->Get("items", k).ok()) << k;
  }
  const rocksdb::PerfContext& perf = *rocksdb::get_perf_context();
  const uint64_t index_reads = perf.index_block_read_count;
  const uint64_t filter_reads = perf.filter_block_read_count;
  const uint64_t block_reads = perf.block_read_count;
  const uint64_t cache_hits = perf.block_cache_hit_count;
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  EXPECT_EQ(index_reads, 0u);
  EXPECT_EQ(filter_reads, 0u);
  EXPECT_EQ(block_reads, 0u);
  EXPECT_GE(cache_hits, 3 * wanted.size());
}

TEST(StoreTest, PrefixScanIsOrderedBoundedAndResumable) {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  rocksdb::WriteBatch batch;
  for (int i = 0; i < 10; ++i) {
    batch.Put(store->Cf("items"), KeyBuilder().Str("a").U64(i).Build(), std::to_string(i));
    batch.Put(store->Cf("items"), KeyBuilder().Str("b").U64(i).Build(), "other");
  }
  ASSERT_TRUE(store->Write(batch).ok());
  std::string prefix = KeyBuilder().Str("a").Build();
  std::vector<std::string> seen;
  std::string last;
  ASSERT_TRUE(store
                  ->ScanPrefix("items", prefix,
                               [&](std::string_view k, std::string_view v) {
                                 seen.emplace_back(v);
                                 last = std::string(k);
                                 return seen.size() < 4;
                               })
                  .ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"0", "1", "2", "3"}));
  std::vector<std::string> rest;
  ASSERT_TRUE(store
                  ->ScanPrefix(
                      "items", prefix,
                      [&](std::string_view, std::string_view v) {
                        rest.emplace_back(v);
                        return true;
                      },
                      last)
                  .ok());
  EXPECT_EQ(rest.size(), 6u);
  EXPECT_EQ(rest.front(), "4");
  std::vector<std::string> reversed;
  ASSERT_TRUE(store
                  ->ScanPrefixReverse("items", prefix,
                                      [&](std::string_view, std::string_view v) {
                                        reversed.emplace_back(v);
                                        return reversed.size() < 2;
                                      })
                  .ok());
  EXPECT_EQ(reversed, (std::vector<std::string>{"9", "8"}));
}

// Keys of an index, KeyBuilder().Str(tag).Str(value).Str(id), spread over files written by a
// database without the two-component prefix filter (as before it existed), flushed files and
// the memtable: a scan of a (tag, value) prefix finds exactly its keys wherever they are, in
// order and resumable, and a scan of a prefix nobody has reads no file or memtable it can skip.
TEST(StoreTest, TwoComponentPrefixScansFindEveryKeyAndSkipWhatHoldsNone) {
  testing::TempDir dir;
  auto key = [](int tag, int value, int id) {
    return KeyBuilder()
        .Str(absl::StrCat("tag", tag))
        .Str(absl::StrCat("v", value, std::string("\0x", 2)))
        .Str(absl::StrCat("id", id))
        .Build();
  };
  auto prefix = [](int tag, int value) {
    return KeyBuilder()
        .Str(absl::StrCat("tag", tag))
        .Str(absl::StrCat("v", value, std::string("\0x", 2)))
        .Build();
  };
  // ids 0-2 of every (tag, value) by a plain RocksDB (no prefix extractor), flushed.
  {
    rocksdb::Options o;
    o.create_if_missing = true;
    o.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
        {rocksdb::kDefaultColumnFamilyName, o}, {"items", o}, {"index", o}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, dir.path(), cfs, &handles, &raw).ok());
    rocksdb::WriteBatch batch;
    for (int t = 0; t < 3; ++t) {
      for (int v = 0; v < 50; ++v) {
        for (int id = 0; id < 3; ++id) batch.Put(handles[2], key(t, v, id), "old");
      }
    }
    ASSERT_TRUE(raw->Write(rocksdb::WriteOptions(), &batch).ok());
    ASSERT_TRUE(raw->Flush(rocksdb::FlushOptions(), handles[2]).ok());
    for (auto* h : handles) ASSERT_TRUE(raw->DestroyColumnFamilyHandle(h).ok());
    delete raw;
  }
  auto store = OpenStore(dir.path());
  ASSERT_NE(store, nullptr);
  // ids 3-5 flushed by the store, ids 6-7 in its memtable.
  for (int round = 0; round < 2; ++round) {
    rocksdb::WriteBatch batch;
    for (int t = 0; t < 3; ++t) {
      for (int v = 0; v < 50; ++v) {
        for (int id = round == 0 ? 3 : 6; id < (round == 0 ? 6 : 8); ++id) {
          batch.Put(store->Cf("index"), key(t, v, id), round == 0 ? "flushed" : "memtable");
        }
      }
    }
    ASSERT_TRUE(store->Write(batch).ok());
    if (round == 0) ASSERT_TRUE(store->Flush().ok());
  }
  for (int t = 0; t < 3; ++t) {
    for (int v = 0; v < 50; v += 7) {
      std::vector<std::string> keys;
      std::vector<std::string> values;
      ASSERT_TRUE(store
                      ->ScanPrefix("index", prefix(t, v),
                                   [&](std::string_view k, std::string_view val) {
                                     keys.emplace_back(k);
                                     values.emplace_back(val);
                                     return true;
                                   })
                      .ok());
      ASSERT_EQ(keys.size(), 8u) << t << " " << v;
      for (int id = 0; id < 8; ++id) EXPECT_EQ(keys[id], key(t, v, id));
      EXPECT_EQ(values[0], "old");
      EXPECT_EQ(values[3], "flushed");
      EXPECT_EQ(values[7], "memtable");
      // Resumed after the fourth key: the other four.
      std::vector<std::string> rest;
      ASSERT_TRUE(store
                      ->ScanPrefix(
                          "index", prefix(t, v),
                          [&](std::string_view k, std::string_view) {
                            rest.emplace_back(k);
                            return true;
                          },
                          keys[3])
                      .ok());
      EXPECT_EQ(rest, std::vector<std::string>(keys.begin() + 4, keys.end()));
    }
  }
  // Scans of a shorter prefix and of a range read across the (tag, value) prefixes.
  int tag1 = 0;
  ASSERT_TRUE(store
                  ->ScanPrefix("index", KeyBuilder().Str("tag1").Build(),
                               [&](std::string_view, std::string_view) {
                                 ++tag1;
                                 return true;
                               })
                  .ok());
  EXPECT_EQ(tag1, 50 * 8);
  int all = 0;
  ASSERT_TRUE(store
                  ->ScanRange("index", "", "",
                              [&](std::string_view, std::string_view) {
                                ++all;
                                return true;
                              })
                  .ok());
  EXPECT_EQ(all, 3 * 50 * 8);
  // A value nobody has: the store's own file and its memtable are skipped by their filters
  // (the plain database's file has no prefix in its filter and is read).
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableCount);
  rocksdb::get_perf_context()->Reset();
  int none = 0;
  ASSERT_TRUE(store
                  ->ScanPrefix("index", prefix(1, 999),
                               [&](std::string_view, std::string_view) {
                                 ++none;
                                 return true;
                               })
                  .ok());
  const uint64_t sst_skipped = rocksdb::get_perf_context()->bloom_sst_miss_count;
  const uint64_t memtable_skipped = rocksdb::get_perf_context()->bloom_memtable_miss_count;
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  EXPECT_EQ(none, 0);
  EXPECT_GE(sst_skipped, 1u);
  EXPECT_GE(memtable_skipped, 1u);
}

TEST(StoreTest, WriteListenersRunAfterSuccessfulWrites) {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  int calls = 0;
  store->AddWriteListener([&] { ++calls; });
  rocksdb::WriteBatch batch;
  batch.Put(store->Cf("items"), "k", "v");
  ASSERT_TRUE(store->Write(batch).ok());
  EXPECT_EQ(calls, 1);
}

TEST(StoreTest, OpenFailsClearlyOnEmptyPath) {
  StoreOptions o;
  auto store = Store::Open(o);
  EXPECT_TRUE(absl::IsInvalidArgument(store.status()));
}

}  // namespace
}  // namespace triad::storage
