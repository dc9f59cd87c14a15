package config

import (
	"fmt"
	"os"
	"strconv"

	"gopkg.in/yaml.v3"
)

// ConfigFileEnv names the variable that points to an optional YAML configuration file.
const ConfigFileEnv = "MEETCOORD_CONFIG_FILE"

// WithConfigFile returns a getenv that reads the YAML file named by MEETCOORD_CONFIG_FILE (a
// flat mapping of the same variable names, e.g. `LOBBY_WAITING_TIMEOUT: 3`) under the
// environment: a variable set in the environment wins over the file.
func WithConfigFile(getenv func(string) string) (func(string) string, error) {
	path := getenv(ConfigFileEnv)
	if path == "" {
		return getenv, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ConfigFileEnv, err)
	}
	var raw map[string]any
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%s %s: %w", ConfigFileEnv, path, err)
	}
	values := make(map[string]string, len(raw))
	for k, v := range raw {
		switch v := v.(type) {
		case string:
			values[k] = v
		case bool:
			values[k] = strconv.FormatBool(v)
		case int, int64, float64:
			values[k] = fmt.Sprint(v)
		case []any:
			s := ""
			for i, item := range v {
				if i > 0 {
					s += ","
				}
				s += fmt.Sprint(item)
			}
			values[k] = s
		case nil:
		default:
			return nil, fmt.Errorf("%s %s: %s must be a string, number, boolean or list", ConfigFileEnv, path, k)
		}
	}
	return func(name string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return values[name]
	}, nil
}
