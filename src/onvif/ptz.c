/*
 * PTZ service calls (ONVIF PTZ ver20): moves, presets, home, status.
 */
#include "onvif/calls.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Checks a vector: finite numbers in -1..1 (the generic spaces). */
static int onvif_ptz_check(const onvif_ptz_vector_t *v, const char *what,
                           onvif_err_t *err)
{
    if (v == NULL || (!v->has_pan_tilt && !v->has_zoom))
        return onvif_fail(err, -EINVAL, "PTZ %s: no pan/tilt or zoom "
                          "given", what);
    if ((v->has_pan_tilt && (!isfinite(v->pan) || !isfinite(v->tilt) ||
                             fabs(v->pan) > 1 || fabs(v->tilt) > 1)) ||
        (v->has_zoom && (!isfinite(v->zoom) || fabs(v->zoom) > 1)))
        return onvif_fail(err, -EINVAL, "PTZ %s: values must be within "
                          "-1..1 (pan %g, tilt %g, zoom %g)", what, v->pan,
                          v->tilt, v->zoom);
    return 0;
}

/* Writes <tt:PanTilt x y/><tt:Zoom x/> for v into a new string inside
 * element (e.g. "tptz:Velocity"). */
static char *onvif_ptz_vector_xml(const char *element,
                                  const onvif_ptz_vector_t *v)
{
    char pt[96] = "", z[64] = "", *out = NULL;

    if (v == NULL)
        return strdup("");
    if (v->has_pan_tilt)
        snprintf(pt, sizeof(pt), "<tt:PanTilt x=\"%.6f\" y=\"%.6f\"/>",
                 v->pan, v->tilt);
    if (v->has_zoom)
        snprintf(z, sizeof(z), "<tt:Zoom x=\"%.6f\"/>", v->zoom);
    if (asprintf(&out, "<%s>%s%s</%s>", element, pt, z, element) < 0)
        return NULL;
    return out;
}

/* Sends a PTZ request whose response carries nothing we need. body has
 * the profile token already escaped. */
static int onvif_ptz_simple(onvif_client_t *c, const char *name,
                            const char *body, onvif_err_t *err)
{
    char action[96], expected[64], *xml = NULL;
    size_t len;
    int rc;

    rc = onvif_client_ensure(c, err);
    if (rc < 0)
        return rc;
    snprintf(action, sizeof(action), ONVIF_ACTION_PTZ "%s", name);
    snprintf(expected, sizeof(expected), "%sResponse", name);
    rc = onvif_call(c, onvif_client_services(c)->ptz, action, body, true, 0,
                    &xml, &len, err);
    if (rc < 0)
        return rc;
    rc = onvif_parse_empty(xml, len, expected, err);
    free(xml);
    return onvif_err_prefix(c, name, rc, err);
}

/* Formats a request body into a new string. */
static int onvif_ptz_body(char **body, onvif_err_t *err, const char *fmt,
                          ...) __attribute__((format(printf, 3, 4)));
static int onvif_ptz_body(char **body, onvif_err_t *err, const char *fmt,
                          ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vasprintf(body, fmt, ap);
    va_end(ap);
    if (n < 0) {
        *body = NULL;
        return onvif_fail(err, -ENOMEM, "out of memory");
    }
    return 0;
}

int onvif_ptz_continuous_move(onvif_client_t *c, const char *profile,
                              const onvif_ptz_vector_t *velocity,
                              int timeout_ms, onvif_err_t *err)
{
    char *tok = NULL, *vel = NULL, *body = NULL, timeout[64] = "";
    int rc;

    rc = onvif_ptz_check(velocity, "ContinuousMove", err);
    if (rc < 0)
        return rc;
    if (timeout_ms < 0 || timeout_ms > 3600000)
        return onvif_fail(err, -EINVAL, "PTZ ContinuousMove: timeout %d ms "
                          "must be within 0..3600000", timeout_ms);
    if (timeout_ms > 0)
        snprintf(timeout, sizeof(timeout), "<tptz:Timeout>PT%d.%03dS"
                 "</tptz:Timeout>", timeout_ms / 1000, timeout_ms % 1000);
    tok = onvif_xml_escape(profile ? profile : "");
    vel = onvif_ptz_vector_xml("tptz:Velocity", velocity);
    if (tok == NULL || vel == NULL) {
        rc = onvif_fail(err, -ENOMEM, "out of memory");
        goto fail;
    }
    rc = onvif_ptz_body(&body, err, "<tptz:ContinuousMove><tptz:"
                        "ProfileToken>%s</tptz:ProfileToken>%s%s</tptz:"
                        "ContinuousMove>", tok, vel, timeout);
    if (rc == 0)
        rc = onvif_ptz_simple(c, "ContinuousMove", body, err);
fail:
    free(tok);
    free(vel);
    free(body);
    return rc;
}

int onvif_ptz_stop(onvif_client_t *c, const char *profile, bool pan_tilt,
                   bool zoom, onvif_err_t *err)
{
    char *tok = onvif_xml_escape(profile ? profile : ""), *body = NULL;
    int rc;

    if (tok == NULL)
        return onvif_fail(err, -ENOMEM, "out of memory");
    rc = onvif_ptz_body(&body, err, "<tptz:Stop><tptz:ProfileToken>"
                        "%s</tptz:ProfileToken><tptz:PanTilt>%s</tptz:"
                        "PanTilt><tptz:Zoom>%s</tptz:Zoom></tptz:Stop>", tok,
                        pan_tilt ? "true" : "false", zoom ? "true" : "false");
    if (rc == 0)
        rc = onvif_ptz_simple(c, "Stop", body, err);
    free(tok);
    free(body);
    return rc;
}

/* AbsoluteMove and RelativeMove share their shape. */
static int onvif_ptz_move(onvif_client_t *c, const char *name,
                          const char *vector_element, const char *profile,
                          const onvif_ptz_vector_t *target,
                          const onvif_ptz_vector_t *speed, onvif_err_t *err)
{
    char *tok = NULL, *tgt = NULL, *spd = NULL, *body = NULL;
    int rc;

    rc = onvif_ptz_check(target, name, err);
    if (rc == 0 && speed != NULL)
        rc = onvif_ptz_check(speed, name, err);
    if (rc < 0)
        return rc;
    tok = onvif_xml_escape(profile ? profile : "");
    tgt = onvif_ptz_vector_xml(vector_element, target);
    spd = onvif_ptz_vector_xml("tptz:Speed", speed);
    if (tok == NULL || tgt == NULL || spd == NULL) {
        rc = onvif_fail(err, -ENOMEM, "out of memory");
        goto fail;
    }
    rc = onvif_ptz_body(&body, err, "<tptz:%s><tptz:ProfileToken>%s"
                        "</tptz:ProfileToken>%s%s</tptz:%s>", name, tok, tgt,
                        spd, name);
    if (rc == 0)
        rc = onvif_ptz_simple(c, name, body, err);
fail:
    free(tok);
    free(tgt);
    free(spd);
    free(body);
    return rc;
}

int onvif_ptz_absolute_move(onvif_client_t *c, const char *profile,
                            const onvif_ptz_vector_t *position,
                            const onvif_ptz_vector_t *speed,
                            onvif_err_t *err)
{
    return onvif_ptz_move(c, "AbsoluteMove", "tptz:Position", profile,
                          position, speed, err);
}

int onvif_ptz_relative_move(onvif_client_t *c, const char *profile,
                            const onvif_ptz_vector_t *translation,
                            const onvif_ptz_vector_t *speed,
                            onvif_err_t *err)
{
    return onvif_ptz_move(c, "RelativeMove", "tptz:Translation", profile,
                          translation, speed, err);
}

/* Sends a request and hands the response to the caller for parsing. */
static int onvif_ptz_query(onvif_client_t *c, const char *name,
                           const char *body, char **xml, size_t *len,
                           onvif_err_t *err)
{
    char action[96];
    int rc;

    rc = onvif_client_ensure(c, err);
    if (rc < 0)
        return rc;
    snprintf(action, sizeof(action), ONVIF_ACTION_PTZ "%s", name);
    return onvif_call(c, onvif_client_services(c)->ptz, action, body, true,
                      0, xml, len, err);
}

int onvif_ptz_get_status(onvif_client_t *c, const char *profile,
                         onvif_ptz_status_t *status, onvif_err_t *err)
{
    char *tok = onvif_xml_escape(profile ? profile : ""), *body = NULL;
    char *xml = NULL;
    size_t len;
    int rc;

    memset(status, 0, sizeof(*status));
    if (tok == NULL)
        return onvif_fail(err, -ENOMEM, "out of memory");
    rc = onvif_ptz_body(&body, err, "<tptz:GetStatus><tptz:"
                        "ProfileToken>%s</tptz:ProfileToken></tptz:"
                        "GetStatus>", tok);
    free(tok);
    if (rc < 0)
        return rc;
    rc = onvif_ptz_query(c, "GetStatus", body, &xml, &len, err);
    free(body);
    if (rc < 0)
        return rc;
    rc = onvif_parse_ptz_status(xml, len, status, err);
    free(xml);
    return onvif_err_prefix(c, "GetStatus", rc, err);
}

int onvif_ptz_get_presets(onvif_client_t *c, const char *profile,
                          onvif_ptz_preset_t **presets, size_t *count,
                          onvif_err_t *err)
{
    char *tok = onvif_xml_escape(profile ? profile : ""), *body = NULL;
    char *xml = NULL;
    size_t len;
    int rc;

    *presets = NULL;
    *count = 0;
    if (tok == NULL)
        return onvif_fail(err, -ENOMEM, "out of memory");
    rc = onvif_ptz_body(&body, err, "<tptz:GetPresets><tptz:"
                        "ProfileToken>%s</tptz:ProfileToken></tptz:"
                        "GetPresets>", tok);
    free(tok);
    if (rc < 0)
        return rc;
    rc = onvif_ptz_query(c, "GetPresets", body, &xml, &len, err);
    free(body);
    if (rc < 0)
        return rc;
    rc = onvif_parse_ptz_presets(xml, len, presets, count, err);
    free(xml);
    return onvif_err_prefix(c, "GetPresets", rc, err);
}

int onvif_ptz_goto_preset(onvif_client_t *c, const char *profile,
                          const char *preset_token,
                          const onvif_ptz_vector_t *speed, onvif_err_t *err)
{
    char *tok = NULL, *pre = NULL, *spd = NULL, *body = NULL;
    int rc;

    if (preset_token == NULL || preset_token[0] == '\0')
        return onvif_fail(err, -EINVAL, "PTZ GotoPreset: missing preset "
                          "token");
    if (speed != NULL && (rc = onvif_ptz_check(speed, "GotoPreset", err)))
        return rc;
    tok = onvif_xml_escape(profile ? profile : "");
    pre = onvif_xml_escape(preset_token);
    spd = onvif_ptz_vector_xml("tptz:Speed", speed);
    if (tok == NULL || pre == NULL || spd == NULL) {
        rc = onvif_fail(err, -ENOMEM, "out of memory");
        goto fail;
    }
    rc = onvif_ptz_body(&body, err, "<tptz:GotoPreset><tptz:"
                        "ProfileToken>%s</tptz:ProfileToken><tptz:"
                        "PresetToken>%s</tptz:PresetToken>%s</tptz:"
                        "GotoPreset>", tok, pre, spd);
    if (rc == 0)
        rc = onvif_ptz_simple(c, "GotoPreset", body, err);
fail:
    free(tok);
    free(pre);
    free(spd);
    free(body);
    return rc;
}

int onvif_ptz_set_preset(onvif_client_t *c, const char *profile,
                         const char *name, const char *preset_token,
                         char *token_out, size_t token_size,
                         onvif_err_t *err)
{
    char *tok = NULL, *nm = NULL, *pre = NULL, *body = NULL, *xml = NULL;
    char *got = NULL;
    size_t len;
    int rc;

    tok = onvif_xml_escape(profile ? profile : "");
    nm = onvif_xml_escape(name ? name : "");
    pre = onvif_xml_escape(preset_token ? preset_token : "");
    if (tok == NULL || nm == NULL || pre == NULL) {
        rc = onvif_fail(err, -ENOMEM, "out of memory");
        goto fail;
    }
    rc = onvif_ptz_body(&body, err, "<tptz:SetPreset><tptz:"
                        "ProfileToken>%s</tptz:ProfileToken>%s%s%s%s%s%s"
                        "</tptz:SetPreset>", tok,
                        nm[0] ? "<tptz:PresetName>" : "", nm,
                        nm[0] ? "</tptz:PresetName>" : "",
                        pre[0] ? "<tptz:PresetToken>" : "", pre,
                        pre[0] ? "</tptz:PresetToken>" : "");
    if (rc < 0)
        goto fail;
    rc = onvif_ptz_query(c, "SetPreset", body, &xml, &len, err);
    if (rc < 0)
        goto fail;
    rc = onvif_parse_set_preset(xml, len, &got, err);
    if (rc < 0) {
        onvif_err_prefix(c, "SetPreset", rc, err);
        goto fail;
    }
    if (token_out != NULL && token_size > 0)
        snprintf(token_out, token_size, "%s", got);
fail:
    free(tok);
    free(nm);
    free(pre);
    free(body);
    free(xml);
    free(got);
    return rc;
}

int onvif_ptz_remove_preset(onvif_client_t *c, const char *profile,
                            const char *preset_token, onvif_err_t *err)
{
    char *tok, *pre, *body = NULL;
    int rc;

    if (preset_token == NULL || preset_token[0] == '\0')
        return onvif_fail(err, -EINVAL, "PTZ RemovePreset: missing preset "
                          "token");
    tok = onvif_xml_escape(profile ? profile : "");
    pre = onvif_xml_escape(preset_token);
    if (tok == NULL || pre == NULL) {
        rc = onvif_fail(err, -ENOMEM, "out of memory");
        goto fail;
    }
    rc = onvif_ptz_body(&body, err, "<tptz:RemovePreset><tptz:"
                        "ProfileToken>%s</tptz:ProfileToken><tptz:"
                        "PresetToken>%s</tptz:PresetToken></tptz:"
                        "RemovePreset>", tok, pre);
    if (rc == 0)
        rc = onvif_ptz_simple(c, "RemovePreset", body, err);
fail:
    free(tok);
    free(pre);
    free(body);
    return rc;
}

/* GotoHomePosition and SetHomePosition take only the profile. */
static int onvif_ptz_home(onvif_client_t *c, const char *name,
                          const char *profile, onvif_err_t *err)
{
    char *tok = onvif_xml_escape(profile ? profile : ""), *body = NULL;
    int rc;

    if (tok == NULL)
        return onvif_fail(err, -ENOMEM, "out of memory");
    rc = onvif_ptz_body(&body, err, "<tptz:%s><tptz:ProfileToken>"
                        "%s</tptz:ProfileToken></tptz:%s>", name, tok, name);
    if (rc == 0)
        rc = onvif_ptz_simple(c, name, body, err);
    free(tok);
    free(body);
    return rc;
}

int onvif_ptz_goto_home(onvif_client_t *c, const char *profile,
                        onvif_err_t *err)
{
    return onvif_ptz_home(c, "GotoHomePosition", profile, err);
}

int onvif_ptz_set_home(onvif_client_t *c, const char *profile,
                       onvif_err_t *err)
{
    return onvif_ptz_home(c, "SetHomePosition", profile, err);
}

int onvif_ptz_get_nodes(onvif_client_t *c, onvif_ptz_node_t **nodes,
                        size_t *count, onvif_err_t *err)
{
    char *xml = NULL;
    size_t len;
    int rc;

    *nodes = NULL;
    *count = 0;
    rc = onvif_ptz_query(c, "GetNodes", "<tptz:GetNodes/>", &xml, &len,
                         err);
    if (rc < 0)
        return rc;
    rc = onvif_parse_ptz_nodes(xml, len, nodes, count, err);
    free(xml);
    return onvif_err_prefix(c, "GetNodes", rc, err);
}

int onvif_ptz_get_configurations(onvif_client_t *c,
                                 onvif_ptz_configuration_t **configs,
                                 size_t *count, onvif_err_t *err)
{
    char *xml = NULL;
    size_t len;
    int rc;

    *configs = NULL;
    *count = 0;
    rc = onvif_ptz_query(c, "GetConfigurations", "<tptz:GetConfigurations/>",
                         &xml, &len, err);
    if (rc < 0)
        return rc;
    rc = onvif_parse_ptz_configurations(xml, len, configs, count, err);
    free(xml);
    return onvif_err_prefix(c, "GetConfigurations", rc, err);
}
