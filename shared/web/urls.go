package web

import "strings"

// absURL is the absolute URL of path (which starts with "/") at the public
// origin publicURL (PUBLIC_URL, like https://billing.example.com), for
// providers and emails that link back. It never comes from the request's
// Host: behind CloudFront that is the execute-api domain, where the
// customer has no session.
func absURL(publicURL, path string) string {
	return strings.TrimRight(publicURL, "/") + path
}
