package store

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/oklog/ulid/v2"
)

// Store reads and writes the billing table. It is safe for concurrent use.
type Store struct {
	db    *dynamodb.Client
	table string
	now   func() time.Time

	mu      sync.Mutex
	entropy *ulid.MonotonicEntropy
	// issuer gives the parties recorded on each document (IssueWith).
	issuer Issuer
	// shards is how many counter shards each organisation has, as last read.
	shards shardCache
	// everyShardFirst: see ReadEveryShardFirst.
	everyShardFirst bool
}

// New returns a Store for the table named table. now is the clock used for
// anything the caller does not date itself; nil means time.Now.
func New(db *dynamodb.Client, table string, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, table: table, now: now, entropy: ulid.Monotonic(rand.Reader, 0)}
}

// Table returns the table's name.
func (s *Store) Table() string { return s.table }

// NewClient returns the client of the local or embedded DynamoDB at
// endpoint (NewClientOf with no AWS configuration). httpClient may be nil.
func NewClient(ctx context.Context, endpoint string, httpClient *http.Client) (*dynamodb.Client, error) {
	if endpoint == "" {
		return nil, errors.New("store.NewClient needs a local endpoint; in AWS use NewClientOf with the AWS configuration")
	}
	return NewClientOf(aws.Config{}, endpoint, httpClient), nil
}

// NewClientOf returns the DynamoDB client of cfg (config.Config.AWS in the
// functions, the SDK's default chain in infra/ops). With a non-empty
// endpoint (a local or embedded server) it uses that endpoint, dummy
// credentials and a default region, and skips the CRC32 response check
// the embedded server cannot satisfy. httpClient may be nil. The store
// does not load the AWS configuration itself, so that the functions do not
// link the SDK's default credential chain (profiles, SSO, STS, instance
// metadata), which costs every cold start.
func NewClientOf(cfg aws.Config, endpoint string, httpClient *http.Client) *dynamodb.Client {
	if endpoint != "" {
		// A local endpoint takes any credentials; never look for real ones.
		cfg.Region = cmp.Or(cfg.Region, "us-east-1")
		cfg.Credentials = credentials.NewStaticCredentialsProvider("local", "local", "")
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if httpClient != nil {
			o.HTTPClient = httpClient
		}
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			o.DisableValidateResponseChecksum = true
		}
	})
}

// CreateTable creates the table unless it exists, and waits until it is
// active.
func (s *Store) CreateTable(ctx context.Context) error {
	_, err := s.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.table)})
	if err == nil {
		return nil
	}
	if _, ok := errors.AsType[*types.ResourceNotFoundException](err); !ok {
		return fmt.Errorf("describe table %s: %w", s.table, err)
	}
	if _, err := s.db.CreateTable(ctx, TableInput(s.table)); err != nil {
		if _, ok := errors.AsType[*types.ResourceInUseException](err); !ok {
			return fmt.Errorf("create table %s: %w", s.table, err)
		}
	}
	return s.waitActive(ctx)
}

// waitActive polls until the table and its indexes are active, for up to
// two minutes. An embedded server that reports no status counts as active
// (the SDK's waiter would wait forever there).
func (s *Store) waitActive(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		out, err := s.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.table)})
		if err != nil {
			return fmt.Errorf("wait for table %s: %w", s.table, err)
		}
		if active(out.Table) {
			return nil
		}
		if err := sleep(ctx, 500*time.Millisecond); err != nil {
			return fmt.Errorf("wait for table %s: %w", s.table, err)
		}
	}
}

func active(t *types.TableDescription) bool {
	if t.TableStatus != "" && t.TableStatus != types.TableStatusActive {
		return false
	}
	for _, g := range t.GlobalSecondaryIndexes {
		if g.IndexStatus != "" && g.IndexStatus != types.IndexStatusActive {
			return false
		}
	}
	return true
}

// newID returns a unique id with the prefix, whose text sorts by t.
func (s *Store) newID(prefix string, t time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return prefix + "_" + ulid.MustNew(ulid.Timestamp(t), s.entropy).String()
}
