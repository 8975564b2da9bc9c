package store

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/reticle-mesh/reticle/pkg/testkit"
)

// schemaColumn is one column, normalised across dialects: a type class, NOT NULL (a primary key
// column counts as not null) and its position in the primary key (0: not part of it).
type schemaColumn struct {
	Name    string
	Class   string
	NotNull bool
	PK      int
}

// schemaIndex is one secondary index. UNIQUE constraints are named by their columns, since SQLite calls
// them sqlite_autoindex_* and PostgreSQL <table>_<cols>_key; indexes the migrations name keep the name.
type schemaIndex struct {
	Name    string
	Columns string
	Unique  bool
	Partial bool
}

type schemaTable struct {
	Columns []schemaColumn
	Indexes []schemaIndex
}

var typeClass = map[string]string{
	"integer": "int", "bigint": "int",
	"text": "text",
	"blob": "blob", "bytea": "blob",
	"real": "real", "double precision": "real",
	"boolean":  "bool",
	"datetime": "time", "timestamp with time zone": "time",
}

func classOf(t *testing.T, typ string) string {
	t.Helper()
	c, ok := typeClass[strings.ToLower(typ)]
	if !ok {
		t.Fatalf("column type %q has no class: add it to typeClass", typ)
	}
	return c
}

// sqliteSchema reads the schema from sqlite_master and the table_info/index_list/index_info pragmas.
func sqliteSchema(t *testing.T, s *Store) map[string]schemaTable {
	t.Helper()
	db := s.db
	var tables []string
	if err := db.Raw(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`).Scan(&tables).Error; err != nil {
		t.Fatal(err)
	}
	out := map[string]schemaTable{}
	for _, tn := range tables {
		var cols []struct {
			Name    string
			Type    string
			NotNull int `gorm:"column:notnull"`
			PK      int `gorm:"column:pk"`
		}
		if err := db.Raw(`SELECT name, type, "notnull", pk FROM pragma_table_info(?)`, tn).Scan(&cols).Error; err != nil {
			t.Fatal(err)
		}
		var st schemaTable
		for _, c := range cols {
			st.Columns = append(st.Columns, schemaColumn{Name: c.Name, Class: classOf(t, c.Type), NotNull: c.NotNull == 1 || c.PK > 0, PK: c.PK})
		}
		var idx []struct {
			Name    string
			Unique  int `gorm:"column:unique"`
			Origin  string
			Partial int
		}
		if err := db.Raw(`SELECT name, "unique", origin, partial FROM pragma_index_list(?)`, tn).Scan(&idx).Error; err != nil {
			t.Fatal(err)
		}
		for _, ix := range idx {
			if ix.Origin == "pk" {
				continue // the primary key is compared through the columns
			}
			var names []string
			if err := db.Raw(`SELECT name FROM pragma_index_info(?) ORDER BY seqno`, ix.Name).Scan(&names).Error; err != nil {
				t.Fatal(err)
			}
			si := schemaIndex{Name: ix.Name, Columns: strings.Join(names, ","), Unique: ix.Unique == 1, Partial: ix.Partial == 1}
			if ix.Origin == "u" {
				si.Name = "unique(" + si.Columns + ")"
			}
			st.Indexes = append(st.Indexes, si)
		}
		out[tn] = normalise(st)
	}
	return out
}

var pgIndexDef = regexp.MustCompile(`^CREATE (UNIQUE )?INDEX \S+ ON \S+ USING \w+ \(([^)]*)\)( WHERE .*)?$`)

// postgresSchema reads the same from information_schema and pg_indexes/pg_constraint.
func postgresSchema(t *testing.T, s *Store) map[string]schemaTable {
	t.Helper()
	db := s.db
	var tables []string
	if err := db.Raw(`SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`).Scan(&tables).Error; err != nil {
		t.Fatal(err)
	}
	out := map[string]schemaTable{}
	for _, tn := range tables {
		var cols []struct {
			Name       string `gorm:"column:column_name"`
			Type       string `gorm:"column:data_type"`
			IsNullable string `gorm:"column:is_nullable"`
			PK         int    `gorm:"column:pk"`
		}
		err := db.Raw(`SELECT c.column_name, c.data_type, c.is_nullable, COALESCE(k.ordinal_position, 0) AS pk
			FROM information_schema.columns c
			LEFT JOIN information_schema.table_constraints tc ON tc.table_schema = c.table_schema
				AND tc.table_name = c.table_name AND tc.constraint_type = 'PRIMARY KEY'
			LEFT JOIN information_schema.key_column_usage k ON k.constraint_name = tc.constraint_name
				AND k.table_schema = c.table_schema AND k.column_name = c.column_name
			WHERE c.table_schema = current_schema() AND c.table_name = ? ORDER BY c.ordinal_position`, tn).Scan(&cols).Error
		if err != nil {
			t.Fatal(err)
		}
		var st schemaTable
		for _, c := range cols {
			st.Columns = append(st.Columns, schemaColumn{Name: c.Name, Class: classOf(t, c.Type), NotNull: c.IsNullable == "NO", PK: c.PK})
		}
		var idx []struct {
			Name       string `gorm:"column:indexname"`
			Def        string `gorm:"column:indexdef"`
			Constraint string `gorm:"column:contype"`
		}
		err = db.Raw(`SELECT i.indexname, i.indexdef, COALESCE(con.contype, '') AS contype FROM pg_indexes i
			LEFT JOIN pg_constraint con ON con.conname = i.indexname AND con.connamespace = current_schema()::regnamespace
			WHERE i.schemaname = current_schema() AND i.tablename = ?`, tn).Scan(&idx).Error
		if err != nil {
			t.Fatal(err)
		}
		for _, ix := range idx {
			if ix.Constraint == "p" {
				continue
			}
			m := pgIndexDef.FindStringSubmatch(ix.Def)
			if m == nil {
				t.Fatalf("cannot read index definition %q", ix.Def)
			}
			colsList := strings.ReplaceAll(m[2], " ", "")
			si := schemaIndex{Name: ix.Name, Columns: colsList, Unique: m[1] != "", Partial: m[3] != ""}
			if ix.Constraint == "u" {
				si.Name = "unique(" + colsList + ")"
			}
			st.Indexes = append(st.Indexes, si)
		}
		out[tn] = normalise(st)
	}
	return out
}

func normalise(st schemaTable) schemaTable {
	sort.Slice(st.Columns, func(i, j int) bool { return st.Columns[i].Name < st.Columns[j].Name })
	sort.Slice(st.Indexes, func(i, j int) bool { return st.Indexes[i].Name < st.Indexes[j].Name })
	return st
}

// TestSchemasMatchAcrossDialects migrates a SQLite database and a PostgreSQL schema to the latest
// version and compares what their catalogs say: the same tables, columns (type class, NOT NULL,
// primary key) and indexes (columns, unique, partial). It needs RETICLE_TEST_DATABASE.
func TestSchemasMatchAcrossDialects(t *testing.T) {
	if !testkit.UsesPostgres() {
		t.Skip("set RETICLE_TEST_DATABASE to a PostgreSQL URL (.ci/postgres start DIR prints one)")
	}
	ctx := context.Background()
	lite, _ := openTempSQLite(t)
	defer closeStore(t, lite)
	p := filepath.Join(t.TempDir(), "pg")
	pg, err := Open(ctx, Options{Path: p, Database: testkit.Database(t, p)})
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore(t, pg)
	a, b := sqliteSchema(t, lite), postgresSchema(t, pg)
	if len(a) < 10 {
		t.Fatalf("SQLite schema has only %d tables", len(a))
	}
	names := map[string]bool{}
	for n := range a {
		names[n] = true
	}
	for n := range b {
		names[n] = true
	}
	for n := range names {
		x, inA := a[n]
		y, inB := b[n]
		switch {
		case !inA:
			t.Errorf("table %s only on PostgreSQL", n)
		case !inB:
			t.Errorf("table %s only on SQLite", n)
		default:
			if fmt.Sprint(x.Columns) != fmt.Sprint(y.Columns) {
				t.Errorf("table %s columns differ:\nsqlite   %v\npostgres %v", n, x.Columns, y.Columns)
			}
			if fmt.Sprint(x.Indexes) != fmt.Sprint(y.Indexes) {
				t.Errorf("table %s indexes differ:\nsqlite   %v\npostgres %v", n, x.Indexes, y.Indexes)
			}
		}
	}
}
