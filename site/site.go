// Package site embeds the static assets under static/ (CSS, icons), so the
// local server serves exactly the files deployed to S3/CloudFront.
package site

import "embed"

// FS holds static/, served under /static/.
//
//go:embed static
var FS embed.FS
