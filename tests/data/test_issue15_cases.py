"""Issue 15, case by case: every case the issue names, and the test that asserts its outcome.

The issue ("A shop's own data, trusted") lists what went wrong in a run over faulty datasets and
batch faults, under six headings plus the imports and the platforms. :data:`CASES` maps each case
it names to the tests that assert its outcome: correct numbers, a warning with counts, or a clear
error with its exit code, and never a traceback. Most live beside the code they test; the cases
that had no test of their own are tested at the end of this file.

:func:`test_every_case_of_the_issue_has_a_test` keeps the table honest: every test named must
exist (with the parameter named, for a parametrised one) and must not be skipped or expected to
fail.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import workbench
from testkit import tiny_tables, write_csvs
from workbench.cli import main as cli
from workbench.errors import EXIT_REFUSED, DataError

TESTS = Path(__file__).resolve().parents[1]
BAD = "data/test_bad_inputs.py"
HERE = "data/test_issue15_cases.py"
FAULTS = "run/test_faults.py"
ATOMIC = "data/test_importers_atomic.py"
PLATFORMS = "data/test_importers_platforms.py"
PRIVACY = "data/test_importers_privacy.py"
LOADER_PRIVACY = "data/test_loader_privacy.py"
EXCEL_IMPORT = "data/test_importers_excel.py"
SAFE = "data/test_safefile.py"
SCAN = "test_privacy_scan.py"

#: (heading in the issue, the case as the issue names it, the tests that assert its outcome)
CASES: list[tuple[str, str, list[str]]] = [
    # ----- Silently wrong
    ("silently wrong", "timestamps written '2025-11-11 10:00:00 CST' read as US Central",
     [f"{BAD}::test_cst_is_china_standard_time_and_said"]),
    ("silently wrong", "exchange rates that do not cover the early dates drop 7% of GMV ('USD +829.2%')",
     [f"{BAD}::test_rates_that_start_too_late_are_refused_with_counts"]),
    ("silently wrong", "20 orders dated 2027 move the whole default report into 2027",
     [f"{BAD}::test_orders_dated_in_the_future_are_refused"]),
    ("silently wrong", "fractional quantities rounded (2.5 -> 3)",
     [f"{BAD}::test_fractional_quantity_is_refused_not_rounded"]),
    ("silently wrong", "NaN amounts accepted", [f"{BAD}::test_non_finite_amounts_are_refused[nan]",
                                                f"{BAD}::test_non_finite_amounts_are_refused[NaN]"]),
    ("silently wrong", "inf amounts accepted", [f"{BAD}::test_non_finite_amounts_are_refused[inf]",
                                                f"{BAD}::test_non_finite_amounts_are_refused[-inf]"]),
    ("silently wrong", "1e400 amounts accepted", [f"{BAD}::test_non_finite_amounts_are_refused[1e400]"]),
    ("silently wrong", "300 orders with no lines accepted without a warning (product revenue 3% below GMV)",
     [f"{BAD}::test_orders_without_lines_are_a_warning_with_the_revenue_gap"]),
    ("silently wrong", "a literal 'NULL' customer id collects 486 orders",
     [f"{BAD}::test_literal_null_customer_id_is_missing_not_a_customer[NULL]",
      f"{BAD}::test_literal_null_in_an_optional_column_is_a_warning_with_count"]),
    ("silently wrong", "an orders.xlsx beside CSV tables is ignored while validate exits 0",
     [f"{BAD}::test_excel_file_instead_of_the_csv_is_refused_with_the_fix",
      f"{BAD}::test_excel_file_beside_the_csv_is_named_as_ignored"]),
    ("silently wrong", "an orders.csv that is a symlink loop is ignored while validate exits 0",
     [f"{BAD}::test_symlink_loop_is_refused", f"{BAD}::test_the_command_refuses_bad_files_without_a_traceback"]),
    # ----- Excel-resaved exports
    ("excel-resaved", "a Taobao export whose 19-digit order numbers Excel cut to 15 significant digits",
     [f"{EXCEL_IMPORT}::test_damaged_order_numbers_are_refused", f"{EXCEL_IMPORT}::test_damaged_export_exits_2_without_traceback",
      f"{BAD}::test_spreadsheet_damaged_order_ids_are_refused[truncated]"]),
    ("excel-resaved", "order numbers in scientific notation turn 6,445 orders into one",
     [f"{EXCEL_IMPORT}::test_damaged_order_numbers_are_refused",
      f"{BAD}::test_spreadsheet_damaged_order_ids_are_refused[scientific]"]),
    ("excel-resaved", "ids with a lost leading ' / =\"...\" (what to build)",
     [f"{EXCEL_IMPORT}::test_lost_wrapper_with_intact_digits_imports",
      f"{HERE}::test_ids_that_kept_the_spreadsheet_text_marker_are_refused",
      f"{HERE}::test_ids_that_lost_their_leading_zeros_are_refused",
      f"{HERE}::test_ids_saved_as_decimal_numbers_are_refused"]),
    ("excel-resaved", "genuine long ids are not taken for damage",
     [f"{BAD}::test_intact_long_order_ids_pass", f"{EXCEL_IMPORT}::test_genuine_ids_ending_in_zeros_are_not_taken_for_damage"]),
    # ----- Personal data
    ("personal data", "an address without spaces (广东省深圳市南山区科技园路3号502室) kept whole as region and city",
     [f"{PRIVACY}::test_region_is_never_finer_than_the_city", f"{PLATFORMS}::test_taobao_order_and_item_reports",
      f"{HERE}::test_a_street_address_in_a_native_region_column_reaches_no_view"]),
    ("personal data", "300+ street addresses in 01_sales_traffic's tables, charts and findings",
     [f"{SCAN}::test_no_planted_personal_data_in_anything_a_batch_writes",
      f"{HERE}::test_a_street_address_in_a_native_region_column_reaches_no_view"]),
    ("personal data", "phone numbers used as customer ids pass validate and reach 10_personalisation and its CSV",
     [f"{PRIVACY}::test_loader_pseudonymises_phone_numbers_used_as_customer_ids",
      f"{PLATFORMS}::test_phone_numbers_as_member_ids_in_a_transaction_log",
      f"{SCAN}::test_no_planted_personal_data_in_anything_a_batch_writes"]),
    ("personal data", "personal data anywhere (what to build): after row 20,000 and inside longer texts",
     [f"{LOADER_PRIVACY}::test_personal_data_after_row_20000_and_inside_texts_reaches_no_view",
      f"{LOADER_PRIVACY}::test_kernels_that_skip_the_checks_mask_the_same_columns_from_the_record",
      "data/test_importers_embedded_pii.py::test_a_phone_number_inside_a_late_product_name_is_pseudonymised"]),
    ("personal data", "address tokens are an unsalted MD5 prefix", [f"{PRIVACY}::test_tokens_are_keyed"]),
    # ----- Spreadsheet formula injection
    ("formula injection", "10_personalisation_targets.csv carries =HYPERLINK(...), +cmd|' /C calc'!A0, @SUM(...)",
     [f"{SAFE}::test_the_personalisation_target_list_is_neutralised",
      f"{SAFE}::test_formula_cells_are_neutralised_and_numbers_stay_numbers", f"{SAFE}::test_no_csv_is_written_around_safefile"]),
    # ----- Tracebacks
    ("tracebacks", "an unreadable orders.csv (PermissionError)",
     [f"{BAD}::test_unreadable_file_is_refused_with_the_permission_fix"]),
    ("tracebacks", "orders.csv that is a directory", [f"{BAD}::test_folder_named_like_a_table_is_refused"]),
    ("tracebacks", "corrupt Parquet pages", [f"{BAD}::test_corrupt_parquet_is_refused[pages]",
                                             f"{BAD}::test_corrupt_parquet_is_refused[footer]"]),
    ("tracebacks", "years 0025 and 2205", [f"{BAD}::test_years_out_of_range_are_refused"]),
    ("tracebacks", "NaN amounts (pandas ValueError inside 01)",
     [f"{BAD}::test_non_finite_amounts_are_refused[nan]", f"{FAULTS}::test_unusable_data_is_refused_before_any_kernel_starts"]),
    ("tracebacks", "a full disk", [f"{FAULTS}::test_a_disk_full_from_the_start_is_an_environment_problem",
                                   f"{ATOMIC}::test_a_full_disk_leaves_the_dataset_as_it_was"]),
    ("tracebacks", "a read-only --out", [f"{FAULTS}::test_a_read_only_out_folder_is_an_environment_problem"]),
    ("tracebacks", "--timeout nan", [f"{FAULTS}::test_a_time_limit_that_is_not_a_positive_number_is_refused[nan]"]),
    ("tracebacks", "a GBK file that starts with a UTF-8 byte-order mark ('product_id' is missing)",
     [f"{BAD}::test_gbk_file_with_a_utf8_byte_order_mark_is_read"]),
    # ----- Batches
    ("batches", "a data file rewritten during a batch: one report on two versions, only the last fingerprint",
     [f"{FAULTS}::test_data_rewritten_during_the_batch_is_detected_per_notebook",
      f"{FAULTS}::test_an_unchanged_run_is_marked_consistent_and_carries_data_warnings"]),
    ("batches", "on SIGHUP (a closed terminal) workers and kernels keep running",
     [f"{FAULTS}::test_a_signal_stops_workers_and_kernels[SIGHUP]"]),
    ("batches", "on SIGINT and SIGTERM (what to build)",
     [f"{FAULTS}::test_a_signal_stops_workers_and_kernels[SIGINT]",
      "run/test_pool.py::test_an_interrupted_run_leaves_no_folder_and_no_kernel"]),
    ("batches", "on SIGKILL workers and kernels keep running as orphans",
     [f"{FAULTS}::test_workers_and_kernels_end_when_the_batch_is_killed_outright"]),
    ("batches", "on a full disk the pages of notebooks that had succeeded are thrown away",
     [f"{FAULTS}::test_full_disk_at_the_end_keeps_the_finished_pages_and_says_how_much_is_needed"]),
    ("batches", "every kernel on CSV data leaves a workbench-csv-* copy in the temp folder",
     [f"{FAULTS}::test_decoded_csv_copies_of_the_kernels_are_removed",
      f"{BAD}::test_decoded_copies_are_removed_and_stale_ones_cleaned"]),
    # ----- Imports
    ("imports", "re-importing an older export after a newer one turns 100 refunds back into completed orders",
     [f"{ATOMIC}::test_an_older_export_never_turns_refunds_back_into_sales",
      f"{ATOMIC}::test_a_newer_export_does_apply_its_refunds"]),
    ("imports", "an import interrupted by a full disk leaves customers updated and orders not; the report is stale",
     [f"{ATOMIC}::test_a_full_disk_leaves_the_dataset_as_it_was",
      f"{ATOMIC}::test_an_import_killed_between_the_renames_is_recovered",
      f"{ATOMIC}::test_no_permission_to_write_is_an_environment_error"]),
    # ----- Only two platforms
    ("platforms", "Taobao: the item report (SKU, item prices, quantities), carrier and receipt time unused",
     [f"{PLATFORMS}::test_taobao_order_and_item_reports", f"{PLATFORMS}::test_an_item_report_needs_the_order_number"]),
    ("platforms", "JD, Pinduoduo and Douyin exports have no importer",
     [f"{PLATFORMS}::test_pinduoduo_export", f"{PLATFORMS}::test_douyin_export",
      f"{PLATFORMS}::test_jd_through_the_shipped_generic_example", f"{PLATFORMS}::test_gbk_and_utf8_exports_give_the_same_tables"]),
    ("platforms", "the personal-data scan over every input kind (what must show)",
     [f"{SCAN}::test_no_planted_personal_data_in_the_imported_dataset",
      f"{SCAN}::test_each_platform_alone_leaves_no_planted_personal_data"]),
]


def _functions(path: Path) -> dict[str, ast.FunctionDef]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}


def test_every_case_of_the_issue_has_a_test() -> None:
    assert len(CASES) >= 40
    missing, disabled = [], []
    for _, case, refs in CASES:
        assert refs, case
        for ref in refs:
            file, _, name = ref.partition("::")
            func, _, param = name.partition("[")
            path = TESTS / file
            found = _functions(path).get(func) if path.exists() else None
            if found is None:
                missing.append(ref)
                continue
            decorators = [ast.get_source_segment(path.read_text(encoding="utf-8"), d) or "" for d in found.decorator_list]
            if any("skip" in d or "xfail" in d for d in decorators):
                disabled.append(ref)
            value = param.rstrip("]")
            if param and not any("parametrize" in d and (f'"{value}"' in d or f"'{value}'" in d) for d in decorators):
                missing.append(ref)
    assert missing == [] and disabled == []


# ----- cases that had no test of their own ---------------------------------------------------------------------
def _shop_with_order_ids(tmp_path: Path, ids: list[str]) -> Path:
    tables = tiny_tables()
    mapping = dict(zip(["o1", "o2", "o3", "o4"], ids))
    for name in ("orders", "order_items"):
        tables[name]["order_id"] = tables[name]["order_id"].map(mapping)
    return write_csvs(tmp_path / "shop", tables)


def _refused_by_load_and_validate(folder: Path, capsys: pytest.CaptureFixture, *words: str) -> None:
    with pytest.raises(DataError) as err:
        workbench.load(folder)
    code = cli(["validate", str(folder)])
    out, errout = capsys.readouterr()
    assert code == EXIT_REFUSED and "Traceback" not in out + errout
    for w in words:
        assert w in str(err.value) and w in out, w


def test_ids_that_kept_the_spreadsheet_text_marker_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    ids = ['="4032781562839201234"', '="4032781562839205678"', '="4032781562839209012"', '="4032781562839213456"']
    _refused_by_load_and_validate(_shop_with_order_ids(tmp_path, ids), capsys, "orders.csv", "order_items.csv",
                                  "'order_id'", "4 of 4 ids still carry the spreadsheet text marker",
                                  "download the export again")


def test_ids_that_lost_their_leading_zeros_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    _refused_by_load_and_validate(_shop_with_order_ids(tmp_path, ["000123", "000456", "789", "000999"]), capsys,
                                  "orders.csv", "'order_id'", "1 of 4 ids lost their leading zeros", "'789'",
                                  "lines 4")


def test_ids_saved_as_decimal_numbers_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """The importers' and the loader's one detector (workbench.data.excel): ``123456.0`` is a damaged id."""
    _refused_by_load_and_validate(_shop_with_order_ids(tmp_path, ["123456.0", "123457.0", "123458.0", "123459.0"]),
                                  capsys, "orders.csv", "order_items.csv", "'order_id'",
                                  "4 of 4 ids were saved as decimal numbers", "download the export again")


def test_a_street_address_in_a_native_region_column_reaches_no_view(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture) -> None:
    tables = tiny_tables()
    tables["orders"]["region"] = ["北京市朝阳区建国路3号", "广东省", "广东省深圳市南山区科技园路3号502室", None]
    folder = write_csvs(tmp_path / "shop", tables)
    ds = workbench.load(folder)
    regions = ds.sql("SELECT region FROM orders ORDER BY order_id")["region"].tolist()
    assert regions[1] == "广东省" and all(str(r).startswith("p-") for r in regions[::2])
    note = next(p for p in ds.problems if p.column == "region")
    assert note.severity == "note" and note.count == 2
    ds.close()
    assert cli(["validate", str(folder)]) == 0
    out, _ = capsys.readouterr()
    assert "2 values hold personal data" in out and "建国路" not in out and "科技园路" not in out
